"""Entry points: the ``labelops`` command line (:mod:`app.cli`), the deployment specs it serves and
registers (:mod:`app.deployments`, reading ``deployments/prefect.yaml``) and the process set-up they
share (:mod:`app.runtime`). The top layer: it imports flows, flows import nothing from it."""
