"""The one error hierarchy: every failure a user can see is an NbmlopsError with a message
that says what happened and what to do."""

from __future__ import annotations


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
