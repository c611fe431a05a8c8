"""Set up a separate MLflow virtualenv and run the MLflow workload inside it."""

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


def _has_mlflow(python: Path) -> bool:
    """Return True if `python` exists and can import mlflow."""
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import mlflow"], capture_output=True)
    return probe.returncode == 0


def _last_line(text: str) -> str:
    """Return the last non-blank line of `text` (or a placeholder)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _pip_install(python: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    """Run `pip install requirement` with the venv's python."""
    cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)


def ensure_mlflow_venv(root: Path) -> Path | None:
    """Create `root/.mlflow-venv` with mlflow if needed; return its python or None."""
    venv = Path(root) / ".mlflow-venv"
    python = _venv_python(venv)
    if _has_mlflow(python):
        return python
    try:
        if not python.exists():
            base = shutil.which("python3") or sys.executable
            subprocess.run([base, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        result = _pip_install(python, MLFLOW_PIN)
        if result.returncode != 0:
            result = _pip_install(python, "mlflow")
        if result.returncode != 0:
            print(f"mlflow venv: pip install failed: {_last_line(result.stderr)}", file=sys.stderr)
            return None
    except subprocess.CalledProcessError as exc:
        print(f"mlflow venv: venv creation failed: {_last_line(exc.stderr or '')}", file=sys.stderr)
        return None
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"mlflow venv: {exc}", file=sys.stderr)
        return None
    if not _has_mlflow(python):
        print(f"mlflow venv: mlflow installed but `import mlflow` fails in {python}", file=sys.stderr)
        return None
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
