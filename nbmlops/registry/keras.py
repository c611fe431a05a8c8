"""Keras 3 models in Keras's own `.keras` format, loaded back with `safe_mode=True`.

A `.keras` file is a zip of the model's config (JSON), its weights (HDF5) and metadata: no pickle.
Keras's `safe_mode` (on here, always) refuses to deserialize Python code a config may carry
(`Lambda` layers' bytecode); custom layers load when their classes are registered with
`keras.saving.register_keras_serializable`, as Keras requires. The model loads on the Keras backend
of the loading process (`KERAS_BACKEND`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbmlops.errors import InvalidInputError, NbmlopsError

FLAVOR = "keras"
FILE = "model.keras"


def matches(obj: object) -> bool:
    """True for Keras 3 models (Sequential, functional and subclassed)."""
    return any(c.__name__ == "Model" and c.__module__.startswith("keras.") for c in type(obj).__mro__)


def save(obj: Any) -> tuple[bytes, dict[str, Any]]:
    """The `.keras` file `model.save` writes, and for `meta.json` the backend it was saved from."""
    import keras

    with tempfile.TemporaryDirectory(prefix="nbmlops-keras-") as folder:
        path = Path(folder) / FILE
        obj.save(path)
        return path.read_bytes(), {"backend": keras.backend.backend(), "keras_version": keras.__version__}


def signature(obj: Any) -> dict[str, Any] | None:
    """The model's input tensors (name, dtype, shape with -1 for unknown sizes), when it is built."""
    try:
        inputs = list(obj.inputs or [])
    except (AttributeError, ValueError):  # a subclassed or unbuilt model has no symbolic inputs
        return None
    found = [{"name": str(getattr(t, "name", f"input_{i}")), "dtype": str(t.dtype),
              "shape": [-1 if d is None else int(d) for d in t.shape]} for i, t in enumerate(inputs)]
    return {"inputs": found} if found else None


def load(data: bytes, meta: Mapping[str, Any], label: str, model_class: Any = None) -> Any:
    """The model, through `keras.saving.load_model(..., safe_mode=True)`."""
    if model_class is not None:
        raise InvalidInputError(f"{label} is a Keras model, which loads as itself: leave out model_class")
    try:
        import keras
    except ImportError:
        raise NbmlopsError(f"{label} is a Keras model, and keras is not installed here: "
                           "pip install keras (or nbmlops[keras])") from None
    with tempfile.TemporaryDirectory(prefix="nbmlops-keras-") as folder:
        path = Path(folder) / FILE
        path.write_bytes(data)
        return keras.saving.load_model(path, safe_mode=True)
