"""The one error hierarchy: every nbmlops error lives in nbmlops.errors, listed and exported."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import nbmlops
from nbmlops import errors
from nbmlops.errors import NbmlopsError

# What a user of the Python API can meet and catch; the rest are the CLI's or `nbmlops serve`'s answers.
CAUGHT_BY_USERS = {
    "NbmlopsError", "InvalidInputError", "ParamConflictError", "FilterSyntaxError", "NotFoundError", "StoreError",
    "StoreVersionError", "CorruptStoreError", "StoreLockedError", "TamperedArtifactError", "UntrustedModelError",
    "GateFailedError", "NoReferenceError", "UnknownParameterError", "KernelStartError",
}


def error_classes_in_the_package() -> dict[str, set[type]]:
    """Every NbmlopsError subclass defined in any nbmlops module, by the module that defines it."""
    found: dict[str, set[type]] = {}
    modules = [nbmlops.__name__] + [info.name for info in pkgutil.walk_packages(nbmlops.__path__, "nbmlops.")
                                    if not info.name.endswith(".__main__")]  # __main__ would run the CLI
    for name in modules:
        for _, obj in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if issubclass(obj, NbmlopsError) and obj.__module__.startswith("nbmlops"):
                found.setdefault(obj.__module__, set()).add(obj)
    return found


def test_every_error_class_is_defined_in_errors_and_listed_there() -> None:
    found = error_classes_in_the_package()
    assert set(found) == {"nbmlops.errors"}, f"error classes defined outside nbmlops.errors: {found}"
    assert {cls.__name__ for cls in found["nbmlops.errors"]} == set(errors.__all__)
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, NbmlopsError) and cls.__doc__, name


def test_the_errors_users_catch_are_exported_from_nbmlops() -> None:
    assert set(errors.__all__) >= CAUGHT_BY_USERS
    for name in CAUGHT_BY_USERS:
        assert name in nbmlops.__all__ and getattr(nbmlops, name) is getattr(errors, name), name


def test_every_error_answers_http_with_a_client_or_server_status() -> None:
    statuses = {name: getattr(errors, name).status for name in errors.__all__}
    assert all(400 <= status <= 599 for status in statuses.values()), statuses
    assert statuses["NotFoundError"] == statuses["NoReferenceError"] == 404
