"""Work spread over a Dask cluster: connect to one (or start one on this machine), run a function
over many pieces of work on its workers, and take the results back in order.

    with cluster_client("tcp://10.0.0.5:8786") as client:     # a running `dask scheduler`
        for result in map_in_order(client, fn, pieces): ...
    with cluster_client("local:2") as client: ...               # 2 worker processes on 127.0.0.1

The address is the ``LABELOPS_LABEL_CLUSTER`` setting's value (:attr:`labelops.settings.Settings.label_cluster`):
empty means no cluster (the caller works in its own process). Dask retries a piece whose worker
died on another worker; an exception *raised* by a piece is not retried (the same data fails the
same way) and reaches the caller, naming the piece and the worker.

Dask rather than Ray: ``distributed`` is pure Python (one wheel set, the same on every machine),
a cluster is two commands (``dask scheduler``, ``dask worker tcp://…``) or one :class:`LocalCluster`,
and each worker keeps what a function caches in its process (a model loaded once per worker).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

LOCAL_PREFIX = "local:"
CONNECT_TIMEOUT_S = 10


class ClusterError(RuntimeError):
    """The cluster could not be reached, or a piece of work failed on it."""


def parse_local(address: str) -> int | None:
    """Worker processes of ``local:N`` (None for a scheduler address)."""
    if not address.startswith(LOCAL_PREFIX):
        return None
    count = address.removeprefix(LOCAL_PREFIX)
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"cluster {address!r}: write local:N with N ≥ 1 worker processes (e.g. local:2)")
    return int(count)


@contextmanager
def cluster_client(address: str, timeout: float = CONNECT_TIMEOUT_S) -> Iterator[Any]:
    """A :class:`distributed.Client` of the cluster at ``address`` (``tcp://host:port``), or of a
    cluster of N single-threaded worker processes on 127.0.0.1 started here for ``local:N`` (and
    stopped after). An unreachable scheduler is a one-line :class:`ClusterError` naming it."""
    from distributed import Client, LocalCluster

    workers = parse_local(address)
    if workers is not None:
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            log.info("started a Dask cluster of %d worker processes at %s", workers, cluster.scheduler_address)
            yield client
        return
    if "://" not in address:
        raise ValueError(f"cluster {address!r}: a Dask scheduler address (tcp://host:8786) or local:N")
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as error:
        raise ClusterError(_unreachable(address, error)) from None
    try:
        if not client.scheduler_info().get("workers"):
            log.info("the Dask scheduler at %s has no workers yet; waiting for one", address)
            client.wait_for_workers(1, timeout=timeout * 6)
        log.info("connected to the Dask cluster at %s (%d workers)", address, len(client.scheduler_info()["workers"]))
        yield client
    finally:
        client.close()


def check_address(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ``ValueError`` for an address that is neither ``tcp://host:port`` nor ``local:N``, and
    :class:`ClusterError` when the scheduler at a ``tcp://`` address does not answer."""
    if parse_local(address) is not None:
        return
    if "://" not in address:
        raise ValueError(f"cluster {address!r}: a Dask scheduler address (tcp://host:8786) or local:N")
    from distributed import Client

    try:
        Client(address, timeout=timeout).close()
    except (OSError, TimeoutError) as error:
        raise ClusterError(_unreachable(address, error)) from None


def _unreachable(address: str, error: BaseException) -> str:
    detail = str(error).splitlines()[0] if str(error) else "no answer"
    return f"the Dask scheduler at {address} is unreachable ({type(error).__name__}: {detail})"


def worker_count(client: Any) -> int:
    return len(client.scheduler_info()["workers"])


def map_in_order(client: Any, fn: Callable[..., Any], pieces: Sequence[tuple[Any, ...]], *, window: int | None = None,
                 describe: Callable[[tuple[Any, ...]], str] = repr) -> Iterator[Any]:
    """``fn(*piece)`` for each of ``pieces`` on the cluster's workers, yielded in the order of
    ``pieces``. At most ``window`` pieces are submitted ahead of the one the caller waits for
    (default: 4 per worker), so finished results never pile up in this process. A worker that
    dies has its pieces run again elsewhere (Dask's ``allowed-failures``); a piece that raises
    stops the run with :class:`ClusterError` naming it (``describe(piece)``) and its worker."""
    window = window or 4 * max(worker_count(client), 1)
    queued: deque[tuple[tuple[Any, ...], Any]] = deque()
    upcoming: Iterable[tuple[Any, ...]] = iter(pieces)

    def submit_next() -> None:
        piece = next(upcoming, None)  # type: ignore[call-overload]
        if piece is not None:
            queued.append((piece, client.submit(fn, *piece, pure=False)))

    for _ in range(window):
        submit_next()
    try:
        while queued:
            piece, future = queued.popleft()
            try:
                result = future.result()
            except Exception as error:
                where = _worker_of(client, future)
                raise ClusterError(f"{describe(piece)} failed on {where}: {type(error).__name__}: {error}") from error
            submit_next()
            yield result
    finally:
        for _, future in queued:
            future.cancel()


def _worker_of(client: Any, future: Any) -> str:
    """The worker that ran (or last ran) ``future``'s task, as far as the scheduler remembers."""
    try:
        return client.run_on_scheduler(_task_worker, future.key) or "a worker"
    except Exception:  # noqa: BLE001 - only for the error message
        return "a worker"


def _task_worker(key: Any, dask_scheduler: Any = None) -> str | None:
    task = dask_scheduler.tasks.get(key) if dask_scheduler is not None else None
    if task is None:
        return None
    return ", ".join(sorted(task.erred_on or ())) or (task.processing_on.address if task.processing_on else None)
