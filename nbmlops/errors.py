"""The one error hierarchy: every failure a user can see is an NbmlopsError with a message
that says what happened and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotation only: the errors import nothing of nbmlops at run time
    from nbmlops.query.gates import GateResult

__all__ = [
    "BundleTooLargeError", "CorruptStoreError", "ExportError", "FilterSyntaxError", "GateFailedError",
    "InvalidInputError", "KernelStartError", "MethodNotAllowedError", "NbmlopsError", "NoReferenceError",
    "NotFoundError", "ParamConflictError", "PayloadTooLargeError", "PredictionError", "ReloadFailedError",
    "StoreError", "StoreLockedError", "StoreVersionError", "TamperedArtifactError", "UnauthorizedError",
    "UnknownParameterError", "UnsupportedMediaTypeError", "UntrustedModelError",
]


class NbmlopsError(Exception):
    """Base of every nbmlops error; its message is one line meant for the user."""

    status = 500  # HTTP status when the error crosses the REST API


class InvalidInputError(NbmlopsError, ValueError):
    """A key, value, name or argument the user gave is not acceptable."""

    status = 400


class ParamConflictError(InvalidInputError):
    """A param was logged again with a different value (params are write-once per run)."""

    status = 409


class FilterSyntaxError(InvalidInputError):
    """A `where` or `order_by` expression does not parse; the message names the position."""

    def __init__(self, message: str, text: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.text = text
        self.position = position


class NotFoundError(NbmlopsError, LookupError):
    """A run, experiment or artifact that was asked for does not exist."""

    status = 404


class StoreError(NbmlopsError):
    """The store cannot be used as it is."""


class StoreVersionError(StoreError):
    """The store was written by a newer nbmlops; it is left untouched."""


class CorruptStoreError(StoreError):
    """A store file cannot be read; it is named in the message and never overwritten."""


class StoreLockedError(StoreError):
    """The catalog stayed locked by another process for longer than the wait limit."""

    status = 503


class TamperedArtifactError(StoreError):
    """A stored file no longer matches the hash it was stored under."""

    status = 409


# -- models: loading, promotion, export ------------------------------------------------------
class UntrustedModelError(NbmlopsError):
    """Loading the model would run or build code that nbmlops does not trust by default."""

    status = 403


class GateFailedError(NbmlopsError):
    """A promotion gate did not pass; nothing was changed."""

    status = 409

    def __init__(self, result: GateResult) -> None:
        super().__init__(f"gate failed, nothing changed: {result.explanation}")
        self.result = result


class ExportError(NbmlopsError):
    """The export folder cannot be written where it was asked for."""

    status = 409


class BundleTooLargeError(NbmlopsError):
    """A bundle would write more than the import cap or the free disk space allows."""


class NoReferenceError(NotFoundError):
    """The model version has no reference profile to compare batches with."""


# -- notebook jobs -----------------------------------------------------------------------------
class UnknownParameterError(InvalidInputError):
    """A parameter name the notebook's `parameters` cell does not declare (a typo, usually)."""


class KernelStartError(NbmlopsError):
    """The kernel could not be started (an infrastructure problem, not the notebook's)."""

    status = 503


# -- `nbmlops serve`: what its HTTP answers say ----------------------------------------------
class MethodNotAllowedError(InvalidInputError):
    """The endpoint exists, but not with this HTTP method."""

    status = 405


class PayloadTooLargeError(InvalidInputError):
    """The request body is larger than the server accepts."""

    status = 413


class UnsupportedMediaTypeError(InvalidInputError):
    """The request body is not declared as JSON."""

    status = 415


class PredictionError(InvalidInputError):
    """The input passed the signature checks, but the model could not predict from it."""

    status = 422


class UnauthorizedError(NbmlopsError):
    """The request needs the server's reload token."""

    status = 401


class ReloadFailedError(NbmlopsError):
    """Reloading failed; the previous model is still served."""

    status = 409
