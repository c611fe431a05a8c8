"""Hugging Face transformers models as the folder `save_pretrained` writes, weights in safetensors.

The model is stored as `models/<name>/pretrained/`: `model.safetensors` (the model file; one
shard, whatever the size) and the small JSON files beside it (`config.json`, `generation_config.json`),
which are also kept in the model's `meta.json` so the loader needs nothing else. Loading writes the
folder back and calls `from_pretrained(folder, use_safetensors=True, local_files_only=True)`: no
pickle, no hub. The class is the one the model was stored as when transformers itself defines it
(looked up by name in `transformers`, and it must be a `PreTrainedModel`), or `model_class=` when
given; no code is ever taken from the folder (`auto_map` entries are not followed).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbmlops.errors import InvalidInputError, NbmlopsError

FLAVOR = "transformers"
FOLDER = "pretrained"
FILE = f"{FOLDER}/model.safetensors"
_WEIGHTS = "model.safetensors"
_MAX_SIDE_FILE = 1024 * 1024  # the JSON files beside the weights are small; anything bigger is not kept


def matches(obj: object) -> bool:
    """True for transformers' PyTorch models (`PreTrainedModel` subclasses)."""
    return any(c.__name__ == "PreTrainedModel" and c.__module__.startswith("transformers.")
               for c in type(obj).__mro__)


def save(obj: Any) -> tuple[bytes, dict[str, Any]]:
    """The weights file, and for `meta.json` the class name and the JSON files written beside it."""
    with tempfile.TemporaryDirectory(prefix="nbmlops-hf-") as folder:
        obj.save_pretrained(folder, max_shard_size="1000GB")  # one file: the model file is one artifact
        root = Path(folder)
        weights = root / _WEIGHTS
        if not weights.is_file():
            raise InvalidInputError(f"{type(obj).__name__}.save_pretrained wrote no {_WEIGHTS}: "
                                    "nbmlops stores transformers models as safetensors only")
        side = {p.name: p.read_text(encoding="utf-8") for p in sorted(root.iterdir())
                if p.suffix == ".json" and p.is_file() and p.stat().st_size <= _MAX_SIDE_FILE}
        return weights.read_bytes(), {"architecture": type(obj).__name__, "files": side}




def signature(obj: Any) -> dict[str, Any] | None:
    """Token ids for text models (`input_ids`, int64, shape [-1, -1]), else None."""
    name = getattr(obj, "main_input_name", None)
    if name == "input_ids":
        return {"inputs": [{"name": name, "dtype": "int64", "shape": [-1, -1]}]}
    return None


def load(data: bytes, meta: Mapping[str, Any], label: str, model_class: Any = None) -> Any:
    """The model, rebuilt with `from_pretrained` from the stored folder."""
    try:
        import transformers
    except ImportError:
        raise NbmlopsError(f"{label} is a transformers model, and transformers is not installed here: "
                           "pip install transformers (or nbmlops[transformers])") from None
    info = meta.get("transformers") or {}
    files = info.get("files") if isinstance(info, Mapping) else None
    if not isinstance(files, Mapping) or "config.json" not in files:
        raise InvalidInputError(f"{label} has no config.json in its meta.json: it cannot be rebuilt")
    cls = model_class if model_class is not None else _listed_class(transformers, info.get("architecture"))
    if not (isinstance(cls, type) and issubclass(cls, transformers.PreTrainedModel)):
        raise InvalidInputError(f"model_class must be a transformers PreTrainedModel class, got {cls!r}")
    with tempfile.TemporaryDirectory(prefix="nbmlops-hf-") as folder:
        root = Path(folder)
        for name, text in files.items():
            if Path(name).name != name or not name.endswith(".json"):  # only plain JSON file names
                continue
            (root / name).write_text(str(text), encoding="utf-8")
        (root / _WEIGHTS).write_bytes(data)
        model = cls.from_pretrained(folder, use_safetensors=True, local_files_only=True)
    model.eval()
    return model


def _listed_class(transformers: Any, name: Any) -> Any:
    """transformers' own class of that name (never a class the folder's config points at), else AutoModel."""
    if isinstance(name, str) and name.isidentifier():
        cls = getattr(transformers, name, None)
        if isinstance(cls, type) and cls.__module__.startswith("transformers."):
            return cls
    return transformers.AutoModel


def side_files(meta: Mapping[str, Any]) -> dict[str, bytes]:
    """The JSON files to write beside the weights (for an export), by file name."""
    info = meta.get("transformers") or {}
    files = info.get("files") if isinstance(info, Mapping) else None
    if not isinstance(files, Mapping):
        return {}
    return {f"{FOLDER}/{n}": str(t).encode() for n, t in files.items()
            if isinstance(n, str) and Path(n).name == n and n.endswith(".json")}

