"""Autologging PyTorch Lightning, Keras 3 (torch backend) and the transformers Trainer, and their
model flavors, with the real libraries: tiny models, a few steps, on the CPU, nothing downloaded."""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import warnings
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: no TensorFlow or JAX needed

import keras
import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainerCallback, TrainingArguments

import nbmlops
from nbmlops.autolog.sklearn import AutologWarning, autolog
from nbmlops.errors import InvalidInputError, NbmlopsError
from nbmlops.registry.serving import load_served
from nbmlops.store.folder import Store

ORIGINAL_FIT = L.Trainer.fit.__code__
ORIGINAL_KERAS_FIT = keras.Model.fit.__code__
ORIGINAL_TRAIN = Trainer.train.__code__


@pytest.fixture
def autolog_on(fresh_store: Store) -> Iterator[Store]:
    """A fresh store with autolog on, off afterwards."""
    autolog()
    yield fresh_store
    autolog(False)


# -- helpers -------------------------------------------------------------------------------
class Regressor(L.LightningModule):
    """A two-layer regressor that logs train_loss every step and val_loss every epoch."""

    def __init__(self, hidden: int = 8, lr: float = 0.05, fail_at: int = -1, extra: str = "") -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.global_step == self.hparams.fail_at:
            raise ValueError("the data loader gave a broken batch")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss)
        if self.hparams.extra:
            self.log(self.hparams.extra, 1.0)
            self.log("nan_metric", float("nan"))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


class Wide(Regressor):
    """Another architecture: its weights do not fit Regressor's."""

    def __init__(self, **hparams: Any) -> None:
        super().__init__(hidden=3)


class Bare(torch.nn.Module):
    """A module whose constructor takes no hyperparameters."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(4, 1)


class EpochCounter(Callback):
    """A user's callback: counts the epochs it saw."""

    def __init__(self) -> None:
        self.epochs = 0

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.epochs += 1


def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g)
    return X, X.sum(1, keepdim=True)


def loader() -> DataLoader[Any]:
    return DataLoader(TensorDataset(*inputs()), batch_size=16)  # 4 batches an epoch


def trainer(tmp_path: Path, callbacks: list[Any] | None = None, epochs: int = 2) -> L.Trainer:
    return L.Trainer(max_epochs=epochs, log_every_n_steps=1, enable_progress_bar=False, logger=False,
                     enable_model_summary=False, default_root_dir=tmp_path / "pl", callbacks=callbacks,
                     num_sanity_val_steps=1)


def run_of(run_id: str) -> Any:
    return nbmlops.runs().set_index("run_id").loc[run_id]


def steps(run_id: str, key: str) -> list[int]:
    return nbmlops.metric_history(run_id, key)["step"].tolist()


def artifact(store: Store, run_id: str, path: str) -> bytes:
    sha = next(a.sha256 for a in nbmlops.get_run(run_id).artifacts if a.path == path)
    return store.artifact_path(sha).read_bytes()


def paths(run_id: str) -> set[str]:
    return {a.path for a in nbmlops.get_run(run_id).artifacts}


def assert_safetensors(data: bytes) -> dict[str, Any]:
    """The bytes are a safetensors file (an 8-byte header length, a JSON header, raw tensors): no pickle."""
    assert not data.startswith(b"\x80") and not data.startswith(b"PK")  # pickle protocol 2+, torch.save's zip
    (length,) = struct.unpack("<Q", data[:8])
    header: dict[str, Any] = json.loads(data[8:8 + length])
    assert all(set(v) >= {"dtype", "shape", "data_offsets"} for k, v in header.items() if k != "__metadata__")
    return header


# -- PyTorch Lightning ---------------------------------------------------------------------
def test_lightning_fit_logs_params_step_metrics_checkpoint_and_a_safetensors_model(
        autolog_on: Store, tmp_path: Path) -> None:
    counter = EpochCounter()
    checkpoint = ModelCheckpoint(monitor="val_loss", dirpath=tmp_path / "ckpt")
    user_callbacks = [counter, checkpoint]
    model = Regressor()
    with nbmlops.start_run() as run:
        fitter = trainer(tmp_path, user_callbacks)
        fitter.fit(model, loader(), loader())
    row = run_of(run.run_id)
    assert row["params.hidden"] == 8 and row["params.lr"] == 0.05 and row["params.max_epochs"] == 2
    assert row["params.optimizer"] == "SGD" and row["params.optimizer.lr"] == 0.05
    assert row["params.model_class"] == "Regressor"
    assert steps(run.run_id, "train_loss") == list(range(1, 9))  # every step once: no double logging
    assert steps(run.run_id, "val_loss") == [4, 8]  # each epoch's end, not the sanity check
    assert counter.epochs == 2  # the user's callbacks ran, and are the trainer's callbacks again
    assert [c for c in fitter.callbacks if c in user_callbacks] == user_callbacks
    assert not any(type(c).__name__ == "Recorder" for c in fitter.callbacks)
    best = Path(checkpoint.best_model_path).name
    assert f"checkpoints/{best}" in paths(run.run_id)
    assert math.isclose(row["metrics.best_model_score"], float(checkpoint.best_model_score), rel_tol=1e-6)
    header = assert_safetensors(artifact(autolog_on, run.run_id, "models/model/model.safetensors"))
    assert header["net.0.weight"]["shape"] == [8, 4]
    meta = json.loads(artifact(autolog_on, run.run_id, "models/model/meta.json"))
    assert meta["flavor"] == "pytorch" and meta["pytorch"]["init_args"]["hidden"] == 8
    assert meta["signature"] == {"inputs": [{"name": "input", "dtype": "float32", "shape": [-1, 4]}]}

    state = nbmlops.load_model(f"run:{run.run_id}")
    assert set(state) == set(model.state_dict())
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    rebuilt = nbmlops.load_model(f"run:{run.run_id}", model_class=Regressor)
    X, _ = inputs()
    assert isinstance(rebuilt, Regressor) and not rebuilt.training
    assert torch.equal(rebuilt(X), model.eval()(X))


def test_lightning_two_fits_in_a_run_are_both_logged_once_the_second_under_fit2(autolog_on: Store,
                                                                               tmp_path: Path) -> None:
    with nbmlops.start_run() as run:
        trainer(tmp_path, epochs=1).fit(Regressor(), loader())
        trainer(tmp_path, epochs=1).fit(Regressor(hidden=4), loader())
    row = run_of(run.run_id)
    assert row["params.hidden"] == 8 and row["params.fit2.hidden"] == 4
    assert steps(run.run_id, "train_loss") == [1, 2, 3, 4]
    assert steps(run.run_id, "fit2.train_loss") == [1, 2, 3, 4]
    assert {"models/model/model.safetensors", "models/fit2.model/model.safetensors"} <= paths(run.run_id)


def test_autolog_off_or_no_run_logs_nothing_and_restores_the_libraries(fresh_store: Store, tmp_path: Path) -> None:
    autolog()
    trainer(tmp_path, epochs=1).fit(Regressor(), loader())  # no run: nothing, and no run is started
    assert nbmlops.runs().empty
    autolog(False)
    assert L.Trainer.fit.__code__ is ORIGINAL_FIT and keras.Model.fit.__code__ is ORIGINAL_KERAS_FIT
    assert Trainer.train.__code__ is ORIGINAL_TRAIN
    with nbmlops.start_run() as run:
        trainer(tmp_path, epochs=1).fit(Regressor(), loader())
        keras_model().fit(*arrays(), epochs=1, verbose=0)
    row = run_of(run.run_id)
    assert not [c for c in row.index if c.startswith(("params.", "metrics.")) and not _missing(row[c])]
    assert not [p for p in paths(run.run_id) if not p.startswith("provenance/")]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_autologging_block_logs_inside_only_and_without_models_when_asked(fresh_store: Store, tmp_path: Path) -> None:
    with nbmlops.start_run() as run:
        with nbmlops.autologging(log_models=False):
            trainer(tmp_path, epochs=1).fit(Regressor(), loader())
        trainer(tmp_path, epochs=1).fit(Regressor(hidden=4), loader())
    row = run_of(run.run_id)
    assert row["params.hidden"] == 8 and "params.fit2.hidden" not in row.index
    assert steps(run.run_id, "train_loss") == [1, 2, 3, 4]
    assert not [p for p in paths(run.run_id) if p.startswith("models/")]  # log_models=False
    autolog(False)


def test_a_failing_fit_keeps_what_was_logged_and_the_run_usable(autolog_on: Store, tmp_path: Path) -> None:
    counter = EpochCounter()
    fitter = trainer(tmp_path, [counter])
    with nbmlops.start_run() as run:
        with pytest.raises(ValueError, match="broken batch"):
            fitter.fit(Regressor(fail_at=3), loader())
        assert nbmlops.active_run() is not None and nbmlops.active_run().run_id == run.run_id
        nbmlops.log_metric("after_failure", 1.0)
    assert steps(run.run_id, "train_loss") == [1, 2, 3]
    assert run_of(run.run_id)["metrics.after_failure"] == 1.0
    assert fitter.callbacks.count(counter) == 1
    assert not [c for c in fitter.callbacks if type(c).__name__ == "Recorder"]
    assert not any(p.startswith("models/") for p in paths(run.run_id))  # no model of a failed fit


def test_odd_metric_names_and_nan_values(autolog_on: Store, tmp_path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught, nbmlops.start_run() as run:
        warnings.simplefilter("always")
        trainer(tmp_path, epochs=1).fit(Regressor(extra="précision ✓"), loader())
        nbmlops.log_metric("by_hand", float("nan"))
    assert steps(run.run_id, "précision ✓") == [1, 2, 3, 4]
    history = nbmlops.metric_history(run.run_id, "nan_metric")["value"]
    assert len(history) == 4 and history.isna().all()  # as log_metric keeps NaN
    assert nbmlops.metric_history(run.run_id, "by_hand")["value"].isna().all()
    assert steps(run.run_id, "train_loss") == [1, 2, 3, 4]
    with warnings.catch_warnings(record=True) as caught, nbmlops.start_run() as run:
        warnings.simplefilter("always")
        trainer(tmp_path, epochs=1).fit(Regressor(extra="bad\nname"), loader())
    autolog_warnings = [w for w in caught if issubclass(w.category, AutologWarning)]
    assert len(autolog_warnings) == 1 and "bad\\nname" in str(autolog_warnings[0].message)
    assert steps(run.run_id, "train_loss") == [1, 2, 3, 4]  # the other metrics went on


def test_log_model_of_a_torch_module_and_loading_errors(fresh_store: Store) -> None:
    torch.manual_seed(0)
    net = Regressor(hidden=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "stored with pickle" warning
        version = nbmlops.log_model(net, name="regressor")
    nbmlops.end_run()
    assert version.flavor == "pytorch" and version.version == 1
    assert_safetensors(artifact(fresh_store, version.run_id, "models/regressor/model.safetensors"))
    X, _ = inputs()
    assert torch.equal(nbmlops.load_model("regressor", model_class=Regressor)(X), net.eval()(X))
    with pytest.raises(InvalidInputError, match="do not fit Wide"):
        nbmlops.load_model("regressor", model_class=Wide)
    with pytest.raises(InvalidInputError, match=r"Bare\(\*\*.*failed .*load the state dict"):
        nbmlops.load_model("regressor", model_class=Bare)
    with pytest.raises(InvalidInputError, match="torch.nn.Module subclass"):
        nbmlops.load_model("regressor", model_class="Regressor")
    with pytest.raises(InvalidInputError, match="tabular"):
        load_served(fresh_store, "regressor")


# -- Keras 3 --------------------------------------------------------------------------------
def arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)).astype("float32")
    return X, X.sum(axis=1, keepdims=True)


def keras_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,), name="features"), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


class KerasEpochs(keras.callbacks.Callback):
    """A user's Keras callback: counts epochs."""

    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.epochs += 1


def test_keras_fit_logs_params_epoch_and_batch_metrics_and_a_keras_file(autolog_on: Store) -> None:
    model, counter = keras_model(), KerasEpochs()
    callbacks = [counter]
    with nbmlops.start_run() as run:
        model.fit(*arrays(), epochs=3, batch_size=16, validation_split=0.25, callbacks=callbacks, verbose=0)
    row = run_of(run.run_id)
    assert row["params.epochs"] == 3 and row["params.batch_size"] == 16 and row["params.validation_split"] == 0.25
    assert row["params.optimizer"] == "Adam" and math.isclose(row["params.optimizer.learning_rate"], 0.01, rel_tol=1e-6)
    assert row["params.loss"] == "mse"
    assert steps(run.run_id, "loss") == [0, 1, 2] and steps(run.run_id, "val_loss") == [0, 1, 2]
    assert steps(run.run_id, "mae") == [0, 1, 2]
    assert steps(run.run_id, "batch/loss") == list(range(9))  # 48 training rows: 3 batches an epoch
    assert counter.epochs == 3 and callbacks == [counter]  # the user's list is unchanged

    data = artifact(autolog_on, run.run_id, "models/model/model.keras")
    with zipfile.ZipFile(BytesIO(data)) as archive:
        names = set(archive.namelist())
    assert names == {"config.json", "metadata.json", "model.weights.h5"}  # JSON and HDF5: no pickle
    meta = json.loads(artifact(autolog_on, run.run_id, "models/model/meta.json"))
    assert meta["signature"]["inputs"][0]["shape"] == [-1, 4]
    loaded = nbmlops.load_model(f"run:{run.run_id}")
    X, _ = arrays()
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6)
    with pytest.raises(InvalidInputError, match="leave out model_class"):
        nbmlops.load_model(f"run:{run.run_id}", model_class=Regressor)


def test_keras_model_with_python_code_does_not_load(fresh_store: Store) -> None:
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Lambda(lambda x: x * 2)])
    nbmlops.log_model(model, name="lambda")
    nbmlops.end_run()
    with pytest.raises(Exception, match="safe_mode"):
        nbmlops.load_model("lambda")


# -- transformers Trainer -------------------------------------------------------------------
class Sentences(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """Eight random token sequences of length 6, labelled 0/1."""

    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.ids = torch.randint(1, 50, (8, 6), generator=g)
        self.labels = (self.ids[:, 0] > 25).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(6, dtype=torch.long), "labels": self.labels[i]}


class Steps(TrainerCallback):
    """A user's TrainerCallback: counts steps."""

    def __init__(self) -> None:
        self.steps = 0

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.steps += 1


def test_transformers_trainer_logs_arguments_metrics_and_the_pretrained_folder(autolog_on: Store,
                                                                                tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)
    model = BertForSequenceClassification(config)
    args = TrainingArguments(output_dir=str(tmp_path / "hf"), num_train_epochs=2, per_device_train_batch_size=4,
                             per_device_eval_batch_size=4, learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
                             save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True, seed=0)
    counter = Steps()
    hf = Trainer(model=model, args=args, train_dataset=Sentences(), eval_dataset=Sentences(), callbacks=[counter])
    with nbmlops.start_run() as run:
        hf.train()
    row = run_of(run.run_id)
    assert row["params.learning_rate"] == 1e-3 and row["params.num_train_epochs"] == 2
    assert row["params.per_device_train_batch_size"] == 4
    assert row["params.model_class"] == "BertForSequenceClassification"
    assert steps(run.run_id, "loss") == [1, 2, 3, 4]  # 8 rows, batches of 4, 2 epochs
    assert steps(run.run_id, "eval_loss") == [2, 4]
    assert steps(run.run_id, "train_loss") == [4]
    assert counter.steps == 4 and counter in hf.callback_handler.callbacks
    assert not any(type(c).__name__ == "Recorder" for c in hf.callback_handler.callbacks)
    assert {"models/model/pretrained/model.safetensors", "models/model/pretrained/config.json"} <= paths(run.run_id)
    assert_safetensors(artifact(autolog_on, run.run_id, "models/model/pretrained/model.safetensors"))

    loaded = nbmlops.load_model(f"run:{run.run_id}")
    assert type(loaded) is BertForSequenceClassification
    batch = Sentences()[0]
    with torch.no_grad():
        got = loaded(input_ids=batch["input_ids"][None]).logits
        want = model.eval()(input_ids=batch["input_ids"][None]).logits
    assert torch.allclose(got, want, atol=1e-6)


def tiny_bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=32,
                                                    max_position_embeddings=16))


def test_exported_transformers_and_torch_models_load_with_their_libraries_alone(
        fresh_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbmlops.registry.export import export_model

    bert, net = tiny_bert(), Regressor(hidden=5)
    nbmlops.log_model(bert, name="tiny-bert")
    nbmlops.log_model(net, name="net")
    nbmlops.end_run()
    out = export_model(fresh_store, "tiny-bert/1", tmp_path / "bert")
    assert {p.name for p in (out / "pretrained").iterdir()} == {"config.json", "model.safetensors"}
    requirements = (out / "requirements.txt").read_text()
    assert "transformers==" in requirements and "torch==" in requirements and "safetensors==" in requirements
    readme = (out / "README.md").read_text()
    assert "from_pretrained(\"pretrained\"" in readme and "| `input_ids` | `int64` | `[-1, -1]` |" in readme
    snippet = readme.split("## Load it with nbmlops")[1].split("```python")[1].split("```")[0]
    namespace: dict[str, Any] = {}
    monkeypatch.chdir(out)
    exec(snippet, namespace)  # noqa: S102 - the README's own words load the folder
    assert type(namespace["model"]) is BertForSequenceClassification
    again = BertForSequenceClassification.from_pretrained(out / "pretrained", use_safetensors=True,
                                                          local_files_only=True)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        assert torch.allclose(again.eval()(input_ids=ids).logits, bert.eval()(input_ids=ids).logits, atol=1e-6)

    out = export_model(fresh_store, "net/1", tmp_path / "net")
    from safetensors.torch import load_file

    assert set(load_file(out / "model.safetensors")) == set(net.state_dict())
    assert "load_state_dict" in (out / "README.md").read_text()


def test_a_tracked_cell_autologs_a_lightning_fit_imported_in_the_cell_in_a_real_kernel(
        fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_magics import errors_of, execute, text_of

    nb = execute([
        "%load_ext nbmlops",
        "%%track -e cells -n lit\n"
        "import torch, lightning as L\n"  # imported after autolog is on: the import hook patches it
        "from torch.utils.data import DataLoader, TensorDataset\n"
        "class Lit(L.LightningModule):\n"
        "    def __init__(self, lr=0.1):\n"
        "        super().__init__(); self.save_hyperparameters(); self.layer = torch.nn.Linear(2, 1)\n"
        "    def training_step(self, batch, i):\n"
        "        loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1]); self.log('loss', loss)\n"
        "        return loss\n"
        "    def configure_optimizers(self): return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)\n"
        "X = torch.randn(8, 2)\n"
        "L.Trainer(max_epochs=1, log_every_n_steps=1, logger=False, enable_checkpointing=False,\n"
        "          enable_progress_bar=False, enable_model_summary=False).fit(\n"
        "    Lit(), DataLoader(TensorDataset(X, X[:, :1]), batch_size=4))",
    ], fresh_store, monkeypatch)
    assert not errors_of(nb.cells[1]), text_of(nb.cells[1])
    run = nbmlops.runs("cells").iloc[0]
    assert run["params.lr"] == 0.1 and steps(run["run_id"], "loss") == [1, 2]
    assert "models/model/model.safetensors" in paths(run["run_id"])


def test_pytorch_lightning_package_is_autologged_too(autolog_on: Store, tmp_path: Path) -> None:
    import pytorch_lightning as pl

    class Small(pl.LightningModule):
        def __init__(self, width: int = 3) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])
            self.log("loss", loss)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    with nbmlops.start_run() as run:
        pl.Trainer(max_epochs=1, log_every_n_steps=2, logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False).fit(Small(), loader())
    assert run_of(run.run_id)["params.width"] == 3
    assert steps(run.run_id, "loss") == [2, 4]  # every log_every_n_steps batches
    assert "models/model/model.safetensors" in paths(run.run_id)


class Odd(Regressor):
    """Hyperparameters of every kind: nested, a function, a tensor, NaN, unicode text."""

    def __init__(self, options: dict[str, Any] | None = None, fn: Any = None, scale: Any = None,
                 tolerance: float = float("nan"), label: str = "ünïcode ✓") -> None:
        super().__init__()
        self.save_hyperparameters()


def test_odd_hyperparameters_and_positional_keras_callbacks(autolog_on: Store, tmp_path: Path) -> None:
    module = Odd(options={"depth": 2, "inner": {"drop": 0.1}}, fn=len, scale=torch.tensor([1.0, 2.0]))
    with nbmlops.start_run() as run:
        trainer(tmp_path, epochs=1).fit(module, loader())
    row = run_of(run.run_id)
    assert row["params.options.depth"] == 2 and row["params.options.inner.drop"] == 0.1
    assert row["params.tolerance"] == "nan" and row["params.label"] == "ünïcode ✓"
    assert "params.fn" not in row.index and "params.scale" not in row.index
    meta = json.loads(artifact(autolog_on, run.run_id, "models/model/meta.json"))
    assert meta["pytorch"]["init_args_complete"] is False and "fn" not in meta["pytorch"]["init_args"]

    counter = KerasEpochs()
    model = keras_model()
    X, y = arrays()
    with nbmlops.start_run() as run:
        model.fit(X, y, 16, 2, 0, [counter])  # batch_size, epochs, verbose, callbacks by position
    assert counter.epochs == 2 and steps(run.run_id, "loss") == [0, 1]
    assert run_of(run.run_id)["params.batch_size"] == 16


def test_loading_without_the_library_says_what_to_install(fresh_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    nbmlops.log_model(Bare(), name="bare")
    nbmlops.log_model(keras_model(), name="dense")
    nbmlops.log_model(tiny_bert(), name="bert")
    nbmlops.end_run()
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.setitem(sys.modules, "transformers", None)
    for uri, needs in (("bare", "pip install torch safetensors"), ("dense", "pip install keras"),
                       ("bert", "pip install transformers")):
        with pytest.raises(NbmlopsError, match=f"'{uri}' is a .* model, and .* is not installed here: {needs}"):
            nbmlops.load_model(uri)


class OddLogs(keras.callbacks.Callback):
    """A user's callback that puts odd values into the epoch logs the callbacks after it see."""

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        logs.update({"huge": 10**400, "text": "x", "vector": np.zeros(3), "bad\x00key": 1.0,
                     "infinite": float("inf"), "négatif": -1e308})


def test_keras_logs_with_odd_values_log_what_is_a_number(autolog_on: Store) -> None:
    with warnings.catch_warnings(record=True) as caught, nbmlops.start_run() as run:
        warnings.simplefilter("always")
        keras_model().fit(*arrays(), epochs=2, batch_size=32, callbacks=[OddLogs()], verbose=0)
    assert nbmlops.metric_history(run.run_id, "infinite")["value"].tolist() == [math.inf, math.inf]
    assert nbmlops.metric_history(run.run_id, "négatif")["value"].tolist() == [-1e308, -1e308]
    assert steps(run.run_id, "loss") == [0, 1]
    row = run_of(run.run_id)
    assert not {"metrics.huge", "metrics.text", "metrics.vector"} & set(row.index)
    autolog_warnings = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
    assert len(autolog_warnings) == 1 and "bad\\x00key" in autolog_warnings[0]
