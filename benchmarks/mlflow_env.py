"""Set up a separate virtualenv for a peer tool (MLflow for bench_core) and run the MLflow workload in it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

MLFLOW_PIN = "mlflow==3.18.0"
WORKLOAD = Path(__file__).with_name("mlflow_workload.py")
PIP_TIMEOUT_S = 900
WORKLOAD_TIMEOUT_S = 900


def _venv_python(venv: Path) -> Path:
    """Return the python executable inside a virtualenv directory."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _can_import(python: Path, module: str) -> bool:
    """Return True if `python` exists and can import `module`."""
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def _last_line(text: str) -> str:
    """Return the last non-blank line of `text` (or a placeholder)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _pip_install(python: Path, *requirements: str) -> subprocess.CompletedProcess[str]:
    """Run `pip install requirements` with the venv's python."""
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *requirements]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)


def ensure_venv(venv: Path, attempts: list[list[str]], module: str) -> tuple[Path | None, str]:
    """Create `venv` with the first requirement set of `attempts` that installs; (its python, "") or (None, why).

    Nothing happens when `module` already imports there, so only the first use pays the install.
    """
    python = _venv_python(venv)
    if _can_import(python, module):
        return python, ""
    try:
        if not python.exists():
            base = shutil.which("python3") or sys.executable
            subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        result = None
        for requirements in attempts:
            result = _pip_install(python, *requirements)
            if result.returncode == 0:
                break
        if result is None or result.returncode != 0:
            return None, f"pip install failed: {_last_line(result.stderr if result else '')}"
    except subprocess.CalledProcessError as exc:
        return None, f"venv creation failed: {_last_line(exc.stderr or '')}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if not _can_import(python, module):
        return None, f"installed but `import {module}` fails in {python}"
    return python, ""


def ensure_mlflow_venv(root: Path) -> Path | None:
    """Create `root/.mlflow-venv` with mlflow if needed; return its python or None."""
    python, why = ensure_venv(Path(root) / ".mlflow-venv", [[MLFLOW_PIN], ["mlflow"]], "mlflow")
    if python is None:
        print(f"mlflow venv: {why}", file=sys.stderr)
    return python


def run_mlflow_workload(python: Path, **sizes: int) -> dict:
    """Run mlflow_workload.py under `python` with sizes as CLI flags; return its JSON result."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in sizes.items()]
    proc = subprocess.run(
        [str(python), str(WORKLOAD), *flags],
        stdout=subprocess.PIPE,
        text=True,
        timeout=WORKLOAD_TIMEOUT_S,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mlflow workload exited with code {proc.returncode}")
    return json.loads(_last_line(proc.stdout))
