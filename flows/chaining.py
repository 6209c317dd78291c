"""Chaining: a training that ran *as the train deployment* starts the generate deployment (the gate)
when it completes; an embedded one (``labelops train``, the demo) does not.

The chain is Prefect's own: the generate deployment has an event trigger (``triggers:`` in
deployments/prefect.yaml; ``labelops serve`` builds the same ``DeploymentEventTrigger`` in
app/deployments.py). Its automation, on the Automations page, fires on
``prefect.flow-run.Completed`` of a flow run related to the deployment named ``labelops-train``;
the embedded runs belong to no deployment, so they never match. It runs generate on the snapshot
the training used: the ``labelops.snapshot_id`` label the train flow puts on its own run
(:func:`label_trained_snapshot`), else the run's ``snapshot_id`` parameter (``null``: the latest).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SNAPSHOT_LABEL = "labelops.snapshot_id"

# The trigger's parameters: the trained snapshot, as the automation renders them from the triggering flow run.
SNAPSHOT_TEMPLATE = (
    "{{ (flow_run.labels.get('" + SNAPSHOT_LABEL + "') or flow_run.parameters.get('snapshot_id')) | tojson }}"
)


def label_trained_snapshot(snapshot_id: str) -> None:
    """Label the running flow run with the snapshot it trains on (``labelops.snapshot_id``, shown in the
    UI), for the generate deployment's trigger. Outside a flow run, or when the API refuses, a warning only."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    if not run_id:
        return
    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run_labels(run_id, {SNAPSHOT_LABEL: snapshot_id})
    except Exception as error:  # noqa: BLE001 - the label helps the chain; the training matters more
        log.warning("could not label flow run %s with snapshot %s (the gate, if chained, uses the run's "
                    "snapshot_id parameter): %s", run_id, snapshot_id, error)
