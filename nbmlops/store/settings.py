"""Store settings: a few named switches kept in `.nbmlops/settings.json`, shared by every process.

`nbmlops config` reads and changes them; code asks `setting(store, name)`. Unknown names and bad
values are refused, so a typo never silently does nothing.

A team store keeps them in its catalog (row `settings` of `team_settings`), for every machine;
`settings.json` in a machine's spool is this machine's copy, which code reads (a run's start never
waits for the network): the store refreshes it whenever it talks to the catalog (see
TeamStore.refresh_settings), so a change reaches the other machines within seconds of their next
ship or read.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

import duckdb

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
    return from_saved(saved)


def fresh(store: Store) -> dict[str, bool]:
    """Every setting as the store has it now: a team store's read from its catalog (and this
    machine's copy brought up to date); what `nbmlops config` shows."""
    if not store.shared:
        return settings(store)
    with store.reading() as con:
        values = shared(con)
    keep(store, values)
    return values


def from_saved(saved: object) -> dict[str, bool]:
    """Every setting from what was saved (anything not a known setting's is left out)."""
    kept = saved if isinstance(saved, dict) else {}
    return {name: bool(kept.get(name, s.default)) for name, s in SETTINGS.items()}


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
    if store.shared:  # the team's settings, as the catalog has them now
        current = store.write(lambda con: _change_shared(con, name, bool(value)))
    else:
        current = settings(store)
        current[name] = bool(value)
    keep(store, current)
    return current[name]


def keep(store: Store, values: dict[str, bool]) -> None:
    """Write `values` to the store's settings file (a team store's: this machine's copy)."""
    store.root.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=store.root, prefix=".settings-")
    with os.fdopen(fd, "w") as out:
        json.dump(values, out, indent=1)
    os.replace(tmp, store.root / FILENAME)  # readers see the old or the new file, never half


SHARED_KEY = "settings"  # the row of a team store's team_settings that holds them, as JSON


def shared(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    """A team store's settings as its catalog has them (defaults for those never set)."""
    row = con.execute("SELECT value FROM team_settings WHERE key = ?", [SHARED_KEY]).fetchone()
    try:
        return from_saved(json.loads(row[0]) if row else {})
    except ValueError:
        return from_saved({})  # never written by nbmlops: the defaults, and the next change rewrites it


def _change_shared(con: duckdb.DuckDBPyConnection, name: str, value: bool) -> dict[str, bool]:
    current = shared(con)
    current[name] = value
    con.execute("DELETE FROM team_settings WHERE key = ?", [SHARED_KEY])
    con.execute("INSERT INTO team_settings VALUES (?, ?)", [SHARED_KEY, json.dumps(current)])
    return current
