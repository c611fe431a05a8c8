"""PyTorch models (any `torch.nn.Module`, a LightningModule too) as safetensors weights, loaded without pickle.

The model file is `model.safetensors`: the module's `state_dict()` (tensors only, moved to the CPU),
in the safetensors format, which holds a JSON header and raw tensor bytes and no code. A module's
code cannot be stored safely, so loading gives back what the file holds:

- `load_model(uri)` returns the state dict (`dict[str, torch.Tensor]`), for `module.load_state_dict`;
- `load_model(uri, model_class=MyModule)` rebuilds the module: `MyModule(**init_args)`, then
  `load_state_dict(strict=True)` and `eval()`. `init_args` are the hyperparameters a LightningModule
  saved with `save_hyperparameters()` (those that are JSON values), stored in the model's
  `meta.json`; any other module is built with no arguments.

A signature (input name, dtype and shape, the batch axis as -1) comes from a LightningModule's
`example_input_array`, or from the first training batch when Lightning's autolog logged the model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from nbmlops.errors import InvalidInputError, NbmlopsError

FLAVOR = "pytorch"
FILE = "model.safetensors"


def matches(obj: object) -> bool:
    """True for torch modules (`torch.nn.Module` and its subclasses)."""
    return any(c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def save(obj: Any) -> tuple[bytes, dict[str, Any]]:
    """The module's tensors as safetensors bytes (copies on the CPU: tied weights are stored twice),
    and for `meta.json` the constructor arguments a LightningModule saved."""
    from safetensors.torch import save as save_tensors

    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in obj.state_dict().items()
             if _is_tensor(v)}
    return bytes(save_tensors(state, metadata={"format": "pt"})), _describe(obj)


def _is_tensor(value: Any) -> bool:
    return type(value).__name__ in ("Tensor", "Parameter") and hasattr(value, "detach")


def _describe(obj: Any) -> dict[str, Any]:
    hparams = getattr(obj, "hparams", None)
    args = dict(hparams) if isinstance(hparams, Mapping) else {}
    kept = {str(k): v for k, v in args.items() if _json_value(v)}
    return {"init_args": kept, "init_args_complete": len(kept) == len(args)}


def _json_value(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True


def signature(obj: Any) -> dict[str, Any] | None:
    """From the module's `example_input_array` (a tensor, a tuple of them or a dict of them), if set."""
    example = getattr(obj, "example_input_array", None)
    if example is None:
        return None
    if isinstance(example, Mapping):
        return tensor_signature((str(k), v) for k, v in example.items())
    if isinstance(example, (list, tuple)):
        return tensor_signature((f"input_{i}", v) for i, v in enumerate(example))
    return tensor_signature([("input", example)])


def tensor_signature(inputs: Iterable[tuple[str, Any]]) -> dict[str, Any] | None:
    """A signature from named example tensors or arrays: dtype and shape, the batch axis as -1."""
    found = []
    for name, value in inputs:
        shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
        if shape is None or dtype is None:
            continue
        dims = [int(d) for d in shape]
        found.append({"name": name, "dtype": str(dtype).removeprefix("torch."),
                      "shape": [-1, *dims[1:]] if dims else []})
    return {"inputs": found} if found else None


def load(data: bytes, meta: Mapping[str, Any], label: str, model_class: Any = None) -> Any:
    """The state dict, or `model_class` rebuilt with the stored weights."""
    try:
        import torch
        from safetensors.torch import load as load_tensors
    except ImportError:
        raise NbmlopsError(f"{label} is a PyTorch model, and torch or safetensors is not installed here: "
                           "pip install torch safetensors (or nbmlops[torch])") from None
    state = load_tensors(data)
    if model_class is None:
        return state
    if not (isinstance(model_class, type) and issubclass(model_class, torch.nn.Module)):
        raise InvalidInputError(f"model_class must be a torch.nn.Module subclass (the class of {label}), "
                                f"got {model_class!r}")
    found = (meta.get("pytorch") or {}).get("init_args")
    args = found if isinstance(found, dict) else {}
    try:
        model = model_class(**args)
    except TypeError as exc:
        raise InvalidInputError(f"{model_class.__name__}(**{_short(args)}) failed ({exc}): {label} stored "
                                "these constructor arguments; load the state dict with load_model(uri) and "
                                "build the module yourself") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InvalidInputError(f"the weights of {label} do not fit {model_class.__name__} "
                                f"({' '.join(first[:2])[:300]}): pass the class the model was trained as") from None
    model.eval()
    return model


def _short(args: dict[str, Any]) -> str:
    text = json.dumps(args)
    return text if len(text) <= 120 else text[:117] + "..."
