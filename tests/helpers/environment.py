"""A registered model in a fresh virtual environment built from its own requirements.txt only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


def fresh_environment(model_uri: str, folder: Path, timeout: float = 1500) -> tuple[Path, float]:
    """A new virtualenv in ``folder`` (no system site-packages, no project on the path) with the
    logged model's ``requirements.txt`` installed by pip from the package index (pip's own
    configuration, which may name local wheels, applies). Returns its Python and the seconds pip took."""
    import mlflow

    requirements = Path(mlflow.artifacts.download_artifacts(f"{model_uri}/requirements.txt", dst_path=str(folder)))
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    started = time.perf_counter()
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(requirements)],
                          capture_output=True, text=True, timeout=timeout, env=clean_env())
    assert done.returncode == 0, f"pip install -r {requirements} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return python, time.perf_counter() - started


def clean_env() -> dict[str, str]:
    """This process's environment without what would let the child find this project or this venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix))
    return {**env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}


def predict_in(python: Path, tracking_uri: str, model_uri: str, script: str, cwd: Path, timeout: float = 600) -> dict:
    """Run ``script`` in ``python`` with ``model`` = ``mlflow.pyfunc.load_model(model_uri)``; the
    script sets ``result`` (JSON), which comes back. The child must not import labelops from
    anywhere but the model's own code."""
    prologue = (
        "import json, sys, mlflow, pandas as pd\n"
        f"mlflow.set_tracking_uri({tracking_uri!r})\n"
        f"model = mlflow.pyfunc.load_model({model_uri!r})\n"
    )
    epilogue = (
        "import labelops\n"
        "result['labelops_from'] = labelops.__file__\n"
        "print('RESULT ' + json.dumps(result))\n"
    )
    done = subprocess.run([str(python), "-c", prologue + script + epilogue], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=clean_env())
    assert done.returncode == 0, done.stderr[-4000:]
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))
