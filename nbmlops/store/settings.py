"""Store settings: a few named switches kept in `.nbmlops/settings.json`, shared by every process.

`nbmlops config` reads and changes them; code asks `setting(store, name)`. Unknown names and bad
values are refused, so a typo never silently does nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

from nbmlops.errors import CorruptStoreError, InvalidInputError
from nbmlops.store.folder import Store

FILENAME = "settings.json"


@dataclass(frozen=True)
class Setting:
    """One switch: its default and what it does."""

    name: str
    default: bool
    help: str


SETTINGS = {s.name: s for s in (
    Setting("snapshot-train", False,
            "store a snapshot of every dataset logged with role train (as log_dataset(..., snapshot=True))"),
    Setting("system-metrics", True,
            "record the machine's CPU, memory, disk, network and GPU use in every run as system/* metrics "
            "(every NBMLOPS_SYSTEM_METRICS_INTERVAL seconds, default 5)"),
)}
_TRUE, _FALSE = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


def _known(name: str) -> Setting:
    if name not in SETTINGS:
        raise InvalidInputError(f"no setting {name!r}: the settings are {', '.join(SETTINGS)}")
    return SETTINGS[name]


def settings(store: Store) -> dict[str, bool]:
    """Every setting with its current value (defaults for those never set)."""
    path = store.root / FILENAME
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        saved = {}
    except (OSError, ValueError) as exc:
        raise CorruptStoreError(f"{path} is unreadable ({exc}): fix or delete it (settings go back "
                                "to their defaults)") from exc
    return {name: bool(saved.get(name, s.default)) for name, s in SETTINGS.items()}


def setting(store: Store, name: str) -> bool:
    """The value of one setting."""
    return settings(store)[_known(name).name]


def set_setting(store: Store, name: str, value: bool | str) -> bool:
    """Change a setting for every process using the store; returns the new value."""
    _known(name)
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in _TRUE + _FALSE:
            raise InvalidInputError(f"{name} is on or off, not {value!r}")
        value = word in _TRUE
    current = settings(store)
    current[name] = bool(value)
    store.root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=store.root, prefix=".settings-")
    with os.fdopen(fd, "w") as out:
        json.dump(current, out, indent=1)
    os.replace(tmp, store.root / FILENAME)  # readers see the old or the new file, never half
    return current[name]
