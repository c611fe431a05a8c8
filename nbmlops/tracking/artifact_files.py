"""Which files a `log_artifact` call stores, and the symbolic links it refuses.

A link that leads outside the logged path (the path itself, or a link inside a logged folder
pointing out of it) would smuggle e.g. /etc/passwd into a store that gets exported and shared: it
is refused unless the caller says `follow_symlinks=True`. Everything is checked before anything
is stored.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from nbmlops.errors import InvalidInputError
from nbmlops.store.salvage import utf8
from nbmlops.tracking import validation


def artifact_files(source: Path, base: str, follow_symlinks: bool) -> list[tuple[Path, str]]:
    """The files to store for `source` with their artifact names; a link leading out of it is refused."""
    if source.is_symlink() and not follow_symlinks:
        raise InvalidInputError(
            f"cannot log artifact {str(source)!r}: it is a symbolic link to {os.readlink(source)!r}; "
            "pass follow_symlinks=True to store what it points to, or log the target itself")
    if not source.is_dir():
        return [(source, base)]
    root = Path(os.path.realpath(source))
    files: list[tuple[Path, str]] = []

    def walk(folder: Path, real_folder: Path, prefix: str, above: frozenset[Path]) -> None:
        for entry in os.scandir(folder):
            path, name = Path(entry.path), f"{prefix}/{entry.name}"
            if entry.is_symlink():
                real = Path(os.path.realpath(path))
                if not follow_symlinks and not real.is_relative_to(root):
                    inner = path.relative_to(source).as_posix()
                    raise InvalidInputError(
                        f"cannot log artifact {str(source)!r}: {inner!r} in it is a symbolic link to "
                        f"{os.readlink(path)!r}, outside the folder; pass follow_symlinks=True to store "
                        "what it points to, or remove the link")
                if real in above:
                    continue  # a link to a folder around it: following it would never end
                is_dir, is_file = real.is_dir(), real.is_file()  # a broken link is neither: nothing to store
            else:  # no extra system call: the folder listing says what the entry is
                real = real_folder / entry.name
                is_dir, is_file = entry.is_dir(follow_symlinks=False), entry.is_file(follow_symlinks=False)
            if is_dir:
                walk(path, real, name, above | {real})
            elif is_file:
                if utf8(entry.name) != entry.name:
                    raise InvalidInputError(
                        f"cannot log artifact {str(source)!r}: the name of {utf8(name)!r} in it is not UTF-8 "
                        "(shown with '?'): rename that file")
                files.append((path, validation.artifact_name(name)))

    walk(source, root, base, frozenset({root}))
    return sorted(files, key=lambda f: PurePosixPath(f[1]))
