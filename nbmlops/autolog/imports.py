"""Hooks run when a module is imported: autolog of libraries that are slow to import.

Importing PyTorch Lightning or Keras takes seconds (torch comes with them), so `autolog()` never
imports them itself. A library already imported is patched at once; one imported later is patched
right after its module has run, by a finder on `sys.meta_path` that wraps the module's loader for
that one import and hands the real loader back to the module before its code runs (so
`__loader__`, `__spec__.loader` and resource reading see the library's own loader).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Callable, Sequence
from typing import Any

Hook = Callable[[types.ModuleType], None]


class _Hooks:
    """This process's pending hooks by module name, and the finder that runs them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, list[Hook]] = {}
        self.finder = _Finder(self)


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a hooked module, asks the finders after it and wraps the loader."""

    def __init__(self, hooks: _Hooks) -> None:
        self.hooks = hooks

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.hooks.pending:
            return None
        finders = sys.meta_path
        start = next((i for i, f in enumerate(finders) if f is self), -1) + 1
        for finder in finders[start:]:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, self.hooks)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    """Runs the real loader, then the module's hooks."""

    def __init__(self, loader: Any, hooks: _Hooks) -> None:
        self.loader, self.hooks = loader, hooks

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        with self.hooks.lock:
            hooks = self.hooks.pending.pop(module.__name__, [])
        for hook in hooks:
            hook(module)


_HOOKS = _Hooks()


def when_imported(name: str, hook: Hook) -> None:
    """Run `hook(module)` now if module `name` is imported, else right after it is."""
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return
    with _HOOKS.lock:
        _HOOKS.pending.setdefault(name, []).append(hook)
        if _HOOKS.finder not in sys.meta_path:
            sys.meta_path.insert(0, _HOOKS.finder)


def forget(name: str) -> None:
    """Drop the hooks still waiting for module `name`; the finder goes once none wait."""
    with _HOOKS.lock:
        _HOOKS.pending.pop(name, None)
        if not _HOOKS.pending and _HOOKS.finder in sys.meta_path:
            sys.meta_path.remove(_HOOKS.finder)
