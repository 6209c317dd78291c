"""labelops: automatic product labelling as an orchestrated MLOps workflow.

The plain library (no Prefect needed): settings, contracts, storage, crawling, extraction,
normalisation, validation, snapshots, the demo shop. Prefect tasks live in ``tasks/`` and
flows in ``flows/``.
"""

import os

# Nothing here phones home: the tools' telemetry is off unless a user turns it on.
for _name, _value in {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "SCARF_NO_ANALYTICS": "true",
}.items():
    os.environ.setdefault(_name, _value)

__version__ = "0.1.0"
