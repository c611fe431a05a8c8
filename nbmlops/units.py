"""Units shown to people: byte sizes and counts, written one way in the CLI, the notebook and error messages."""

from __future__ import annotations

_BINARY = ("KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(n: float) -> str:
    """A byte count for people, in powers of 1024: '812 B', '1.2 KiB', '3.4 MiB', '20.0 GiB'.

    Binary units, because the sizes people type back (`nbmlops import --max-size 20G`) are read as
    powers of 1024 and disks and `du -h` count that way too; the `Ki`/`Mi` spelling says so, where
    'KB' would leave a reader guessing between 1000 and 1024.
    """
    if abs(n) < 1024:
        return f"{int(n)} B"
    value, unit = n / 1024, _BINARY[0]
    for bigger in _BINARY[1:]:
        if abs(round(value, 1)) < 1024:  # 1048575 bytes is '1.0 MiB', never '1024.0 KiB'
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def counted(n: int, noun: str) -> str:
    """`1 run`, `2 runs`, `0 runs`: a count with its noun (plural by an s)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
