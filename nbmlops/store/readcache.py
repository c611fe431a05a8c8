"""Answers of recent reads, kept in memory for as long as the store provably has not changed.

A notebook asks the same question again and again. Answering it from the catalog costs an open of
the DuckDB file (~25 ms, and only one process may hold it) plus the queries (~10 ms); checking that
nothing changed costs tens of microseconds. The store's state is:
- every journal in `journals/` with its size and whether its writer still lives (new bytes, a new
  journal, or a writer that died all change what a fold would add);
- the catalog backend's `state()`; for the local file: its identity (inode, size, mtime, ctime),
  its first blocks (DuckDB rewrites one of its two database headers, with a new iteration number,
  at every checkpoint, so a change shows even within one tick of a coarse file clock) and its WAL
  file's identity (writes not yet checkpointed grow the WAL).
Journals are looked at before the catalog: a process that folds and retires a journal between the
two looks changes the catalog, so a fold in progress is never mistaken for an unchanged store.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from nbmlops.store import journal
from nbmlops.store.backend import CatalogBackend

MAX_ENTRIES = 64  # answers kept per store (least recently used go first) ...
MAX_CELLS = 4_000_000  # ... and the values they hold, all told (~32 MB and up): 13 answers of 10,000 x 30
MAX_STORES = 8  # stores with kept answers per process

Listing = tuple[tuple[str, int], ...]  # (journal name, size), by name
State = tuple[Listing, tuple[bool, ...], Any]  # listing, each writer alive, the catalog's state()


def listing(journal_dir: Path) -> Listing:
    """Every visible journal with its size, by name."""
    items = []
    for entry in journal.list_journals(journal_dir):
        try:
            items.append((entry.name, entry.stat().st_size))
        except FileNotFoundError:
            continue  # retired by a fold in another process just now: the catalog shows that
    return tuple(sorted(items))


def _alive(journal_dir: Path, names: Listing) -> tuple[bool, ...]:
    return tuple(journal.writer_alive(journal_dir / name) for name, _ in names)


class ReadCache:
    """Recent answers of one store, valid only in the state they were read in."""

    def __init__(self, catalog: CatalogBackend, journal_dir: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.catalog = catalog
        self.journal_dir = journal_dir
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._state: State | None = None
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()  # answer, its cells
        self._cells = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: Hashable) -> tuple[bool, Any, Listing]:
        """(True, answer, journals) if the store is as it was when `key` was answered, else
        (False, None, journals): `journals` is the listing looked at, for `keep`."""
        names = listing(self.journal_dir)  # journals first: see the module's docstring
        with self._lock:
            if self._state is None or self._state[0] != names:
                self._forget()
                return False, None, names
            now = (names, _alive(self.journal_dir, names), self.catalog.state())
            if now != self._state and not self._own_close(now):
                self._forget()
                return False, None, names
            if key not in self._entries:
                return False, None, names
            self._entries.move_to_end(key)
            return True, self._entries[key][0], names

    def keep(self, key: Hashable, value: Any, before: Listing, open_journals: set[str], catalog: Any) -> None:
        """Keep `value`, read from a catalog in state `catalog` after a fold that started with
        journals `before` and left `open_journals` open, if no journal changed meanwhile."""
        after = listing(self.journal_dir)
        alive = _alive(self.journal_dir, after)
        earlier = set(before)
        for item, live in zip(after, alive, strict=True):
            # A journal written to, or new, since the fold looked; or a writer that died since.
            if item not in earlier or live != (item[0] in open_journals):
                return
        state = (after, alive, catalog)
        cells = _cells(value)
        if cells > MAX_CELLS:
            return
        with self._lock:
            if self._state != state:
                self._forget()
                self._state = state
            if key in self._entries:
                self._cells -= self._entries.pop(key)[1]
            self._entries[key] = (value, cells)
            self._cells += cells
            while len(self._entries) > self.max_entries or self._cells > MAX_CELLS:
                self._cells -= self._entries.popitem(last=False)[1][1]

    def _forget(self) -> None:
        self._state = None
        self._entries.clear()
        self._cells = 0

    def _own_close(self, now: State) -> bool:
        # Closing our own connection checkpoints what we folded: the file changes, its content
        # does not. Keep the answers then.
        if self._state is None or self._state[:2] != now[:2]:
            return False
        if self.catalog.own_close() != (self._state[2], now[2]):
            return False
        self._state = now
        return True


def _cells(value: Any) -> int:
    """About how many values an answer holds: a frame's rows x columns, a list's items x 20."""
    if hasattr(value, "shape"):
        return max(1, int(value.size))
    if isinstance(value, tuple):
        return sum(_cells(v) for v in value)
    if isinstance(value, list):
        return 20 * len(value)
    return 20


_caches: OrderedDict[CatalogBackend, ReadCache] = OrderedDict()
_caches_lock = threading.Lock()


def cache_for(catalog: CatalogBackend, journal_dir: Path) -> ReadCache:
    """This process's answer cache for the store whose catalog is `catalog` (backends that are equal
    share one)."""
    with _caches_lock:
        cache = _caches.get(catalog)
        if cache is None:
            cache = _caches[catalog] = ReadCache(catalog, journal_dir)
            while len(_caches) > MAX_STORES:
                _caches.popitem(last=False)
        _caches.move_to_end(catalog)
        return cache


def _forget_after_fork() -> None:
    global _caches_lock
    _caches.clear()
    _caches_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)
