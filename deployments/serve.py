"""Serve every labelops deployment, schedules included, from this one process: production on one machine.

    python deployments/serve.py [--limit N]      # the same as: labelops serve [--limit N]

The deployments come from deployments/prefect.yaml (app.deployments reads it), so what is
served here and what `prefect deploy` registers for workers are the same definitions. Point
PREFECT_API_URL at a Prefect server to see the runs in its UI; without it Prefect runs embedded
under the data root. Stop with Ctrl-C (SIGINT).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: flows/, tasks/, labelops/
    from app.cli import app

    app(["serve", *sys.argv[1:]])
