"""The ``labelops`` command line.

    labelops shop demo ./shop            # generate the demo shop
    labelops shop serve ./shop           # serve it on 127.0.0.1
    labelops ingest --start-url URL      # crawl → validate → publish a snapshot
    labelops ingest -u URL --processes 2 --redis-url redis://HOST:6379/0   # crawl with processes sharing a frontier
    labelops crawl-worker --crawl-id ID --redis-url redis://HOST:6379/0    # join that crawl from another machine
    labelops extract PAGES --out p.json  # product fields of saved pages (.html/.html.gz)
    labelops train [--models gan]        # train (text, gan or both) on the latest snapshot, register challengers
    labelops generate                    # gate the challengers, label every product, write the report
    labelops promote --rollback MODEL --reason "..."   # put the previous champion back
    labelops demo                        # the whole pipeline on the demo shop
    labelops serve                       # serve every deployment with its schedule from this process
    labelops deploy [--pool process] [--train-pool kubernetes-gpu]   # register the deployments, for workers
    labelops status                      # snapshots, champions and the latest labels runs (no Prefect)

Arguments and cheap preconditions (the data root, the snapshot, the start URLs) are checked before
anything starts Prefect: a usage error exits 2 and a user error exits 1 with one line, at once.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.progress import progress_bars
from labelops.settings import get_settings
from labelops.shop.cli import shop_app

app = typer.Typer(help="Automatic product labelling: crawl shops, validate, train, gate, label.", no_args_is_help=True)
app.add_typer(shop_app, name="shop")
console = Console()
err_console = Console(stderr=True)

MODEL_CHOICES = ("text", "gan")
"""Models ``labelops train`` knows (``labelops.models.TRAINABLE``; a test keeps them equal, this
module does not import the models before it has to)."""


class Pool(str, Enum):
    """Work pool kinds ``labelops deploy`` registers for."""

    process = "process"
    docker = "docker"
    kubernetes = "kubernetes"
    process_gpu = "process-gpu"
    docker_gpu = "docker-gpu"
    kubernetes_gpu = "kubernetes-gpu"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"labelops {version('labelops')}")
        except PackageNotFoundError:
            typer.echo("labelops (not installed)")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Automatic product labelling: crawl shops, validate, train, gate, label."""


# ------------------------------------------------------------------------------ user errors, checked early
def fail(message: str) -> NoReturn:
    """One line on stderr and exit 1: a user error (not a bug), no traceback."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(1)


def _credentials_error(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) is botocore's missing/partial credentials error."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
            return True
        error = error.__cause__ or error.__context__
    return False


S3_CREDENTIALS_HINT = ("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), and AWS_ENDPOINT_URL "
                       "for MinIO or another S3-compatible server")


def data_root(must_exist: bool = False):  # noqa: ANN201 - labelops.storage.DataRoot
    """The data root (``LABELOPS_DATA``), checked: a local one exists (``must_exist``) or can be
    created; a remote one answers (missing S3 credentials named plainly). Exits 1 otherwise."""
    from labelops.storage import DataRoot

    settings = get_settings()
    where = f"data root {settings.data} (LABELOPS_DATA)"
    if settings.data_is_local:
        path = settings.local_data_path
        if path.exists():
            if not path.is_dir():
                fail(f"{where} is not a folder")
        elif must_exist:
            fail(f"{where} does not exist: run `labelops ingest` or `labelops demo` first")
        else:
            ancestor = next(parent for parent in path.parents if parent.exists())
            if not ancestor.is_dir():
                fail(f"{where} cannot be created: {ancestor} is not a folder")
        return DataRoot(settings.data)
    root = DataRoot(settings.data)
    try:
        root.fs.exists(root.path(""))
    except Exception as error:  # noqa: BLE001 - any failure to reach the store is the user's to fix
        if _credentials_error(error):
            fail(f"no S3 credentials for {where}: {S3_CREDENTIALS_HINT}")
        fail(f"cannot reach {where}: {type(error).__name__}: {error}")
    return root


def check_snapshot(root, snapshot_id: str | None, purpose: str) -> str:  # noqa: ANN001 - DataRoot
    """The snapshot ``snapshot_id`` (default: the latest) when it is in the data root; exit 1 when not."""
    from labelops import catalog
    from labelops.snapshot import latest_snapshot_id

    try:
        chosen = snapshot_id or latest_snapshot_id(root)
        if chosen is None:
            fail(f"no snapshot to {purpose} in data root {root.url}: run `labelops ingest` first")
        if not root.exists(catalog.snapshot_listings(chosen)):
            fail(f"no snapshot {chosen} in data root {root.url}: `labelops status` lists the snapshots there")
    except (OSError, ValueError) as error:
        if _credentials_error(error):
            fail(f"no S3 credentials for data root {root.url}: {S3_CREDENTIALS_HINT}")
        raise
    return chosen


def check_cluster(address: str) -> None:
    """A usage error (exit 2) for an address that is not a Dask scheduler's or local:N; exit 1 when
    the scheduler does not answer: before any gate runs."""
    from labelops.distributed import ClusterError, check_address

    try:
        check_address(address)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--cluster") from error
    except ClusterError as error:
        fail(str(error))


def check_urls(urls: list[str], option: str) -> None:
    """Every URL is http(s) with a host; a usage error (exit 2) otherwise, before any crawl or retry."""
    for url in urls:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError as error:
            raise typer.BadParameter(f"{url!r} is not a URL ({error})", param_hint=option) from error
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise typer.BadParameter(f"{url!r} is not an http(s) URL with a host (e.g. https://shop.example/)",
                                     param_hint=option)


def print_ingest_summary(summary) -> None:  # noqa: ANN001 - labelops.ingest.IngestSummary, imported lazily
    """Counts, the quarantine by reason, and where every file went (the rows the markdown has)."""
    table = Table(title=f"ingest {summary.crawl.crawl_id}", show_header=False)
    for name, value in summary.counts():
        table.add_row(name, value)
    for reason, count in sorted(summary.crawl.failures_by_reason.items()):
        table.add_row(f"  failed: {escape(reason)}", str(count))
    if summary.validation:
        for reason, count in summary.validation.quarantined_by_reason.items():
            table.add_row(f"  quarantined: {escape(reason)}", str(count))
    console.print(table)
    for what, where in summary.locations():
        console.print(f"{what + ':':<12} {escape(where)}")
    if summary.publish:
        state = "unchanged (same content as an earlier ingest)" if summary.publish.already_existed else "published"
        console.print(f"[bold green]snapshot {summary.publish.snapshot_id}[/] {state}")
    if summary.error:
        console.print(f"[bold red]{escape(summary.error)}[/]")


def _worth_printing(metric: str, value: float) -> bool:
    """Held-out metrics a person reads: not counts, not finding kinds that never occurred, and of the
    labels' text (grounded, completed) only chrF, coverage and findings."""
    if metric in ("n", "test_images") or (metric.startswith("findings.") and not value):
        return False
    return not metric.startswith("labels.") or metric in ("labels.chrf", "labels.attribute_coverage",
                                                           "labels.findings_rate")


def print_trained(models: dict[str, dict]) -> None:
    """One line per registered model: version, run and held-out metrics."""
    for result in models.values():
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(result["metrics"].items()) if _worth_printing(k, v))
        console.print(f"[bold green]{result['model_name']} version {result['version']}[/] @challenger "
                      f"(run {result['run_id']}): {metrics or 'already registered'}")
    uri = get_settings().tracking_uri
    console.print(f"MLflow tracking: {uri}  (browse it: mlflow ui --backend-store-uri {uri})")


def _prepare_runtime() -> None:
    """Embedded Prefect under the data root and quiet third-party logs; before Prefect is imported."""
    from app.runtime import quiet_third_party_logs, use_embedded_prefect

    use_embedded_prefect(get_settings())
    quiet_third_party_logs()


def _ingest_summary(crawl_id: str):  # noqa: ANN202 - IngestSummary | None, imported lazily
    from labelops.catalog import ingest_summary_path
    from labelops.ingest import IngestSummary
    from labelops.storage import DataRoot

    root = DataRoot(get_settings().data)
    if not root.exists(ingest_summary_path(crawl_id)):
        return None
    return IngestSummary.model_validate(root.read_json(ingest_summary_path(crawl_id)))


def _finish(state, crawl_id: str) -> object:  # noqa: ANN001
    """Print the ingest summary; exit 1 with the flow's message when it failed."""
    summary = _ingest_summary(crawl_id)
    if summary is not None:
        print_ingest_summary(summary)
    return _result(state, "failed")


def _result(state, failed: str) -> object:  # noqa: ANN001 - a Prefect State
    """The flow's result; on failure, print ``failed`` with the flow's message and exit 1."""
    if state.is_failed():
        message = str(state.message)
        if "NoCredentialsError" in message or "Unable to locate credentials" in message:
            fail(f"{failed}: no S3 credentials for data root {get_settings().data}: {S3_CREDENTIALS_HINT}")
        fail(f"{failed}: {message} (data root {get_settings().data})")
    return state.result()


@app.command()
def ingest(
    start_url: Annotated[list[str], typer.Option("--start-url", "-u", help="page(s) to start crawling from")] = [],
    sitemap: Annotated[list[str], typer.Option("--sitemap", help="sitemap.xml or robots.txt URL(s) to start from")] = [],
    max_pages: Annotated[int | None, typer.Option(help="stop after this many pages (default: LABELOPS_CRAWL_MAX_PAGES, 0 = all)")] = None,
    max_invalid_share: Annotated[float | None, typer.Option(help="fail when a larger share of rows is invalid (default 0.2)")] = None,
    ignore_robots: Annotated[bool, typer.Option("--ignore-robots", help="do not obey robots.txt (only for sites you own)")] = False,
    processes: Annotated[int | None, typer.Option(min=1, help="crawl processes on this machine sharing one frontier "
                                                  "in Redis (default: LABELOPS_CRAWL_PROCESSES, 1)")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis holding the crawl's shared frontier, e.g. "
                                                  "redis://127.0.0.1:6379/0; other machines join with `labelops "
                                                  "crawl-worker` (default: LABELOPS_CRAWL_REDIS_URL; none: one process)")] = None,
) -> None:
    """Crawl a shop, validate its listings and publish a snapshot; print the snapshot id and counts."""
    if not start_url and not sitemap:
        raise typer.BadParameter("give --start-url or --sitemap")
    check_urls(start_url, "--start-url")
    check_urls(sitemap, "--sitemap")
    crawl = get_settings().crawl.model_copy(update={"redis_url": redis_url or get_settings().crawl.redis_url,
                                                     "processes": processes or get_settings().crawl.processes})
    try:
        distributed = crawl.distributed
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--processes") from error
    if distributed:
        check_redis(crawl.redis_url)
    data_root()
    _prepare_runtime()
    from flows.ingest import ingest as ingest_flow
    from labelops.crawl import new_crawl_id

    crawl_id = new_crawl_id()
    with progress_bars(err_console):
        state = ingest_flow(start_urls=start_url, sitemap_urls=sitemap, max_pages=max_pages,
                            max_invalid_share=max_invalid_share, obey_robots=not ignore_robots, crawl_id=crawl_id,
                            redis_url=crawl.redis_url, processes=crawl.processes, return_state=True)
    console.print(_finish(state, crawl_id))


def check_redis(url: str) -> None:
    """The crawl's Redis answers; exit 1 with one line naming the URL otherwise."""
    from spiders.frontier import FrontierUnavailable, connect

    try:
        connect(url).close()
    except FrontierUnavailable as error:
        fail(str(error))


@app.command("crawl-worker")
def crawl_worker(
    crawl_id: Annotated[str, typer.Option(help="the crawl to join (`labelops ingest` prints it; ingest.json names it)")],
    redis_url: Annotated[str | None, typer.Option(help="the Redis the crawl was started with "
                                                  "(default: LABELOPS_CRAWL_REDIS_URL)")] = None,
    data: Annotated[str | None, typer.Option(help="data root to write this process's part to (default: the one the "
                                             "crawl was started with; every process must reach the same one)")] = None,
) -> None:
    """Join a running distributed crawl as one more crawl process (on this or another machine).

    Takes pages from the crawl's shared frontier, writes its own part of the raw items, and exits when
    the whole crawl is done; the process that started the crawl (`labelops ingest --redis-url`) then
    validates and publishes everything."""
    url = redis_url or get_settings().crawl.redis_url
    if not url:
        raise typer.BadParameter("give --redis-url (or set LABELOPS_CRAWL_REDIS_URL)", param_hint="--redis-url")
    check_redis(url)
    from app.runtime import quiet_third_party_logs
    from spiders.distributed import DistributedCrawlError, run_worker

    quiet_third_party_logs()
    try:
        report = run_worker(crawl_id, url, data_root=data)
    except DistributedCrawlError as error:
        fail(str(error))
    console.print(f"crawl {crawl_id}: this process saw {report.pages_seen} pages ({report.product_pages} product "
                  f"pages, {report.pages_failed} failed) in {report.seconds:.1f} s -> {report.items_path}")


@app.command()
def train(
    snapshot: Annotated[str | None, typer.Option(help="snapshot id (default: the latest)")] = None,
    models: Annotated[list[str], typer.Option(
        "--models", "--model", "-m", help="model(s) to train: text, gan (repeat, or comma-separated)")] = ["text", "gan"],
    devices: Annotated[int, typer.Option(min=1, help="devices (GPUs, or CPU processes) for DDP, on each node")] = 1,
    num_nodes: Annotated[int, typer.Option(
        min=1, help="machines training together: run the same command on each, with MASTER_ADDR, MASTER_PORT and "
                    "NODE_RANK (or torchrun's or Slurm's variables) set; they share the work folders")] = 1,
    max_steps: Annotated[int | None, typer.Option(min=1, help="text generator: optimizer steps (default 400)")] = None,
    base_model: Annotated[str | None, typer.Option(help="fine-tune this pretrained causal LM (hub name or local path)")] = None,
    pretrain_steps: Annotated[int, typer.Option(
        min=0, help="text generator: language modelling on the snapshot's product text first (steps; 0: none)")] = 0,
    gan_steps: Annotated[int | None, typer.Option(min=1, help="GAN: iterations (default 1500)")] = None,
    image_size: Annotated[int | None, typer.Option(help="GAN: image side in pixels, 32, 64 or 128 (default 64)")] = None,
    gan_width: Annotated[int | None, typer.Option(min=4, help="GAN: generator/discriminator width (default 16)")] = None,
    gan_prior: Annotated[str | None, typer.Option(
        help="GAN: what the generator starts from: class_colour_mean (default: the class-and-colour mean training "
             "photo) or none (noise only)")] = None,
) -> None:
    """Train the models on a snapshot, track them in MLflow and register each as `challenger`."""
    chosen = [name.strip() for value in models for name in value.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(MODEL_CHOICES))
    if unknown or not chosen:
        raise typer.BadParameter(f"{', '.join(unknown) or 'none given'}: choose from {', '.join(MODEL_CHOICES)}",
                                 param_hint="--models")
    if image_size is not None and image_size not in (32, 64, 128):
        raise typer.BadParameter(f"{image_size}: choose 32, 64 or 128", param_hint="--image-size")
    from typing import get_args

    from labelops.imagegen.train import GanPrior

    if gan_prior is not None and gan_prior not in get_args(GanPrior):
        raise typer.BadParameter(f"{gan_prior}: choose {' or '.join(get_args(GanPrior))}", param_hint="--gan-prior")
    check_snapshot(data_root(must_exist=True), snapshot, "train on")
    _prepare_runtime()
    from flows.train import train as train_flow

    with progress_bars(err_console):
        state = train_flow(snapshot_id=snapshot, models=chosen, devices=devices, num_nodes=num_nodes, max_steps=max_steps,
                           base_model=base_model, gan_steps=gan_steps, image_size=image_size, gan_width=gan_width,
                           gan_prior=gan_prior, text_config={"pretrain_steps": pretrain_steps} if pretrain_steps else None, return_state=True)
    trained = _result(state, "training failed")
    if not trained and num_nodes > 1:
        console.print("fitted on this node; node 0 registers the models")
    print_trained(trained)


def print_gates(gates: list[dict]) -> None:
    """Per model: the gate's verdict and why, who writes the labels, every system it measured
    (challenger, champion, baselines) and each check with its interval."""
    from labelops.gate import systems_table

    for gate in gates:
        colour = "green" if gate["promoted"] else "yellow"
        console.print(f"[bold {colour}]gate {gate['model_name']}[/]: {escape(gate['summary'])} "
                      f"(champion: version {gate['champion_after'] or 'none'})")
        writer = gate.get("writer")
        if writer:
            who = f"version {writer['version']}" if writer["system"] == "model" else f"the {writer['system']} baseline"
            console.print(f"  labels written by [bold]{escape(who)}[/]: {escape(writer['reason'])}")
        headers, rows = systems_table(gate)
        if headers:
            table = Table(title=f"{gate['model_name']} on the held-out rows", title_justify="left")
            table.add_column("metric")
            for header in headers:
                table.add_column(header, justify="right")
            for metric, values in rows:
                table.add_row(metric, *("" if v is None else f"{v:.3f}" for v in values))
            console.print(table)
        for check in (gate.get("decision") or {}).get("checks", []):
            mark = "[green]✔[/]" if check["passed"] else "[red]✘[/]"
            console.print(f"  {mark} {escape(check['reason'])}")


def print_label_run(run) -> None:  # noqa: ANN001 - labelops.labelling.LabelRun
    """The gate's verdicts, the counts, and where the labels and report went."""
    print_gates(run.gates)
    table = Table(title=f"labels {run.run_id}", show_header=False)
    table.add_row("snapshot", run.snapshot_id)
    table.add_row("text written by", run.text_writer or f"version {run.text_model_version}")
    table.add_row("images by", run.image_writer or "none")
    for what, count in run.count_rows():
        table.add_row(what, str(count))
    table.add_row("time", f"{run.seconds:.1f} s")
    if run.cluster:
        table.add_row("computed on", f"the Dask cluster {run.cluster}: " + ", ".join(
            f"{worker} {n} products" for worker, n in sorted(run.workers.items())))
    console.print(table)
    console.print(f"labels:      {run.labels}")
    if run.quarantine:
        console.print(f"quarantine:  {run.quarantine}")
    console.print(f"[bold green]report:[/]      {run.report}")


@app.command()
def generate(
    snapshot: Annotated[str | None, typer.Option(help="snapshot id (default: the latest)")] = None,
    cluster: Annotated[str | None, typer.Option(
        help="compute the labels on a Dask cluster: its scheduler (tcp://host:8786), or local:N to start N worker "
             "processes here (default: LABELOPS_LABEL_CLUSTER; empty: this process)")] = None,
) -> None:
    """Gate the challengers against the champions, then label every product of the snapshot and write the report."""
    check_snapshot(data_root(must_exist=True), snapshot, "label")
    if cluster:
        check_cluster(cluster)
    _prepare_runtime()
    from flows.generate import generate as generate_flow

    with progress_bars(err_console):
        state = generate_flow(snapshot_id=snapshot, cluster=cluster, return_state=True)
    print_label_run(_result(state, "generation failed"))


@app.command()
def promote(
    rollback: Annotated[str, typer.Option("--rollback", metavar="MODEL",
                                          help="move MODEL's champion back to the previous champion")],
    reason: Annotated[str, typer.Option(help="why (recorded with the rollback)")],
) -> None:
    """Roll a model's champion back to the previous champion (the gate alone promotes)."""
    from labelops.promotion import PromotionError
    from labelops.promotion import rollback as roll_back

    if not reason.strip():
        raise typer.BadParameter("say why", param_hint="--reason")
    data_root(must_exist=True)
    try:
        old, new = roll_back(rollback, reason)
    except PromotionError as error:
        fail(str(error))
    console.print(f"[bold]{rollback}[/]: champion moved back from version {old} to version {new} ({escape(reason)})")


def print_feedback(result: dict) -> None:
    """What the feedback flow collected, what it decided, and what it started."""
    batch, decision = result["batch"], result["decision"]
    console.print(f"[bold]feedback[/] batch {batch['batch_id']}: {batch['lines']} lines, {batch['stored']} stored "
                  f"{batch['verdicts'] or ''}, {batch['duplicates']} already stored, {batch['rejected']} rejected")
    for error in batch["errors"]:
        console.print(f"  [red]rejected[/] {escape(error)}")
    if batch["quarantine"]:
        console.print(f"quarantine:  {batch['quarantine']}")
    for rule in decision["rules"]:
        mark = "[bold red]fired[/]" if rule["fired"] else "ok"
        console.print(f"  {mark:>5}  {escape(rule['detail'])}")
    colour = "green" if decision["trigger"] else "yellow" if decision["due"] else "white"
    verdict = "retraining triggered" if decision["trigger"] else \
        "retraining due, held back" + (f" by the cooldown until {decision['cooldown_until']}" if decision["cooldown_until"] else
                                        " (report only)") if decision["due"] else "no retraining"
    console.print(f"[bold {colour}]{verdict}[/]")
    if result.get("deployment_run"):
        console.print(f"training deployment run: {result['deployment_run']} (a worker or `labelops serve` runs it)")
    if result.get("training"):
        print_trained(result["training"])
    if result.get("labels"):
        from labelops.labelling import LabelRun

        print_label_run(LabelRun.model_validate(result["labels"]))


@app.command()
def feedback(
    file: Annotated[str | None, typer.Argument(help="a JSON-lines feedback file (local path or fsspec URL); "
                                                    "the inbox <data>/feedback/inbox/ is always collected")] = None,
    trigger: Annotated[bool, typer.Option("--trigger/--report-only", help="start a training when one is due")] = True,
    max_steps: Annotated[int | None, typer.Option(min=1, help="steps of a triggered text training")] = None,
) -> None:
    """Collect reviewers' verdicts (inbox and FILE), validate and store them, and retrain when the rule says so."""
    if file is not None and "://" not in file and not Path(file).is_file():
        fail(f"{file}: no such feedback file")
    data_root()
    _prepare_runtime()
    from flows.feedback import feedback as feedback_flow

    with progress_bars(err_console):
        state = feedback_flow(path=file, trigger=trigger, max_steps=max_steps, return_state=True)
    print_feedback(_result(state, "feedback failed"))


@app.command()
def review(
    run: Annotated[str | None, typer.Option(help="label run to review (default: the latest)")] = None,
    port: Annotated[int, typer.Option(help="port on 127.0.0.1")] = 8780,
    host: Annotated[str, typer.Option(help="interface to bind (keep 127.0.0.1 unless behind an authenticating proxy)")] = "127.0.0.1",
) -> None:
    """Serve the review page: accept, reject or edit the latest labels; verdicts go to the feedback inbox."""
    import time

    from labelops import catalog
    from labelops.review import NoLabelsError, serve_review

    root = data_root(must_exist=True)
    try:
        with serve_review(root, run, host=host, port=port) as url:
            console.print(f"[bold green]review page:[/] {url}  (verdicts go to {root.uri(catalog.FEEDBACK_INBOX)}; "
                          "collect them with `labelops feedback`; Ctrl-C to stop)")
            while True:
                time.sleep(3600)
    except NoLabelsError as error:
        fail(f"{error} (data root {root.url})")
    except KeyboardInterrupt:
        console.print("review page stopped")


@app.command()
def demo(
    products: Annotated[int, typer.Option("--products", "-n", min=1, help="products in the demo shop")] = 500,
    seed: Annotated[int, typer.Option(help="random seed of the demo shop")] = 0,
    port: Annotated[int, typer.Option(help="port to serve the demo shop on (127.0.0.1)")] = 8765,
    train_steps: Annotated[int, typer.Option(min=1, help="training steps of the text generator")] = 300,
    gan_steps: Annotated[int | None, typer.Option(min=1, help="iterations of the GAN (64 px, width 8; default 1000)")] = None,
) -> None:
    """The whole pipeline on the built-in demo shop: build it, serve it on 127.0.0.1, ingest, train both models, gate, label."""
    import time

    data_root()
    _prepare_runtime()
    from flows.demo import demo as demo_flow
    from labelops.crawl import new_crawl_id

    started, crawl_id = time.perf_counter(), new_crawl_id()
    with progress_bars(err_console):
        state = demo_flow(products=products, seed=seed, port=port, crawl_id=crawl_id, train_steps=train_steps,
                          **({"gan_steps": gan_steps} if gan_steps else {}), return_state=True)
    result = _finish(state, crawl_id)
    console.print(f"demo shop: {result['shop_dir']} (served at {result['shop_url']} during the run)")
    print_trained(result["models"])
    print_label_run(result["labels"])
    if result.get("feedback"):
        console.print("[bold]after review[/]")
        print_feedback(result["feedback"])
    console.print(f"[bold]demo finished in {time.perf_counter() - started:.0f} s[/]; data root: {get_settings().data}")


@app.command()
def serve(
    limit: Annotated[int | None, typer.Option(min=1, help="most flow runs at the same time (default: no limit)")] = None,
) -> None:
    """Serve every deployment of deployments/prefect.yaml, with its schedule, from this process (Ctrl-C stops).

    The simplest production on one machine: no work pool, no worker. Point PREFECT_API_URL at a
    Prefect server to watch and trigger the runs in its UI.
    """
    _prepare_runtime()
    from app.deployments import DeploymentsError, available_specs, load_specs, serve_all

    try:
        present, missing = available_specs(load_specs())
        for spec in missing:
            console.print(f"[yellow]skipping {spec.full_name}: {spec.entrypoint} does not exist[/]")
        for spec in present:
            when = ", ".join(f"{s.cron} ({s.timezone})" for s in spec.schedules) or "on demand"
            console.print(f"serving [bold]{spec.full_name}[/]: {when}")
        serve_all(limit=limit, specs=present)
    except DeploymentsError as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(1) from error


@app.command()
def deploy(
    pool: Annotated[Pool | None, typer.Option(
        help="work pool kind of every deployment; default: each deployment's role pool in deployments/prefect.yaml "
             "(ingest, generate, feedback: process; train: process-gpu)")] = None,
    train_pool: Annotated[Pool | None, typer.Option(
        help="work pool kind of the train deployment (e.g. kubernetes-gpu); default: --pool")] = None,
    create_pool: Annotated[bool, typer.Option(help="create the work pools when they do not exist")] = True,
) -> None:
    """Register every deployment of deployments/prefect.yaml with the Prefect server (PREFECT_API_URL), for workers.

    Applies LABELOPS_INGEST_CRON, LABELOPS_TRAIN_CRON, LABELOPS_FEEDBACK_CRON and
    LABELOPS_SCHEDULE_TIMEZONE, puts each deployment on its role's work pool from the yaml (ingest,
    generate and feedback on labelops-process, training on labelops-process-gpu), or every deployment
    on --pool (training on --train-pool), gives every run LABELOPS_DATA and LABELOPS_MLFLOW_URI as set here (and, on
    docker and kubernetes pools, the credentials as Prefect references), and runs
    `prefect --no-prompt deploy --all` from the project folder. Then start a worker per pool:
    `prefect worker start --pool labelops-<pool>`.
    """
    import os
    import subprocess
    import sys
    import tempfile

    import yaml

    from app.deployments import (
        PROJECT_ROOT,
        DeploymentsError,
        available_specs,
        gpu_base_job_template,
        load_specs,
        pool_type,
        render_prefect_yaml,
        set_job_variables,
        split_references,
        work_pools_of,
    )

    if "PREFECT_API_URL" not in os.environ:
        console.print("[yellow]PREFECT_API_URL is not set: the deployments go into the embedded Prefect under the "
                      "data root, where only `labelops serve` or a worker with the same PREFECT_HOME sees them[/]")
        _prepare_runtime()
    try:
        document = render_prefect_yaml(pool.value if pool else None, train_pool=train_pool.value if train_pool else None)
        present, missing = available_specs(load_specs())
    except DeploymentsError as error:
        console.print(f"[bold red]{escape(str(error))}[/]")
        raise typer.Exit(1) from error
    for spec in missing:
        console.print(f"[yellow]skipping {spec.full_name}: {spec.entrypoint} does not exist[/]")
    if not present:
        console.print("[bold red]no deployment to register: none of the flow files exists[/]")
        raise typer.Exit(1)
    names = {spec.name: spec.flow_name for spec in present}
    document["deployments"] = [entry for entry in document["deployments"] if entry["name"] in names]
    pools = work_pools_of(document)
    prefect = [sys.executable, "-m", "prefect", "--no-prompt"]
    if create_pool:
        for pool_name, kind in pools.items():
            exists = subprocess.run([*prefect, "work-pool", "inspect", pool_name], cwd=PROJECT_ROOT,
                                    capture_output=True, text=True).returncode == 0
            if exists:
                continue
            create = [*prefect, "work-pool", "create", pool_name, "--type", pool_type(kind)]
            if kind.endswith("-gpu") and pool_type(kind) != "process":
                default = subprocess.run([*prefect, "work-pool", "get-default-base-job-template", "--type",
                                          pool_type(kind)], cwd=PROJECT_ROOT, capture_output=True, text=True)
                if default.returncode:
                    console.print(f"[bold red]no default base job template for {pool_type(kind)}: {escape(default.stderr)}[/]")
                    raise typer.Exit(1)
                with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="labelops-pool-", delete=False) as handle:
                    json.dump(gpu_base_job_template(kind, json.loads(default.stdout[default.stdout.find('{'):])), handle)
                create += ["--base-job-template", handle.name]
            try:
                subprocess.run(create, cwd=PROJECT_ROOT, check=False)
            finally:
                if "--base-job-template" in create:
                    os.unlink(create[-1])
    # prefect deploy would resolve {{ prefect.blocks… }} / {{ prefect.variables… }} into the deployment:
    # deploy without them, then set them unresolved (the worker resolves them when a run starts)
    to_deploy, held = split_references(document)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", prefix="labelops-deployments-", delete=False) as handle:
        yaml.safe_dump(to_deploy, handle, sort_keys=False)
    try:
        code = subprocess.run([*prefect, "deploy", "--all", "--prefect-file", handle.name], cwd=PROJECT_ROOT).returncode
    finally:
        os.unlink(handle.name)
    if code:
        console.print(f"[bold red]prefect deploy failed (exit {code})[/]")
        raise typer.Exit(code)
    if held:
        set_job_variables(held, names)
    for pool_name in pools:
        on = sorted(entry["name"] for entry in document["deployments"] if entry["work_pool"]["name"] == pool_name)
        console.print(f"[bold green]{', '.join(on)} on work pool {pool_name}[/]; "
                      f"start a worker: prefect worker start --pool {pool_name}")


STATUS_RUNS = 5
"""``labelops status`` lists this many of the latest labels runs."""


@app.command()
def status() -> None:
    """The data root's snapshots (id, rows, created), the registered models' champions and the
    latest labels runs; starts no Prefect server."""
    from app.runtime import quiet_third_party_logs
    from labelops import catalog
    from labelops.labels import label_runs
    from labelops.registry import registered_models
    from labelops.snapshot import latest_snapshot_id, published_snapshots

    settings = get_settings()
    root = data_root(must_exist=True)
    quiet_third_party_logs()
    try:
        latest, snapshots = latest_snapshot_id(root), published_snapshots(root)
        runs = [root.read_json(catalog.label_manifest_path(run)) for run in label_runs(root)[-STATUS_RUNS:]]
    except OSError as error:
        if _credentials_error(error):
            fail(f"no S3 credentials for data root {settings.data}: {S3_CREDENTIALS_HINT}")
        raise
    console.print(f"[bold]data root[/] {escape(settings.data)}")
    table = Table(title="snapshots", title_justify="left")
    for column in ("snapshot", "rows", "created", ""):
        table.add_column(column)
    for manifest in snapshots:
        snapshot_id = str(manifest.get("snapshot_id"))
        table.add_row(snapshot_id, str(manifest.get("rows", "?")), str(manifest.get("created_at", "?"))[:19],
                      "latest" if snapshot_id == latest else "")
    console.print(table if snapshots else "snapshots: none (run `labelops ingest` or `labelops demo`)")

    try:
        models = registered_models(settings)
    except Exception as error:  # noqa: BLE001 - the registry's state is reported, not a crash
        models = None
        console.print(f"[yellow]models: cannot read the MLflow registry at {escape(settings.tracking_uri)}: "
                      f"{escape(type(error).__name__)}: {escape(str(error))}[/]")
    if models is not None:
        table = Table(title=f"models ({escape(settings.tracking_uri)})", title_justify="left")
        for column in ("model", "champion", "challenger", "latest version"):
            table.add_column(column)
        for row in models:
            table.add_row(*row)
        console.print(table if models else "models: none registered (run `labelops train`)")

    table = Table(title=f"labels runs (latest {STATUS_RUNS})", title_justify="left")
    for column in ("run", "snapshot", "finished", "valid labels", "text by"):
        table.add_column(column)
    for manifest in runs:
        counts = manifest.get("counts") or {}
        table.add_row(str(manifest.get("run_id")), str(manifest.get("snapshot_id", "?")),
                      str(manifest.get("finished_at", "?"))[:19], str(counts.get("valid", "?")),
                      str(manifest.get("text_model_version", "")))
    console.print(table if runs else "labels runs: none (run `labelops generate`)")


PROGRESS_FROM = 20
"""``labelops extract`` shows a progress bar from this many pages on."""


@app.command()
def extract(
    paths: Annotated[list[Path], typer.Argument(help=".html / .html.gz files, or folders of them (searched recursively)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="JSON file to write: page id → fields ('-' for stdout)")],
    profiles: Annotated[list[Path], typer.Option("--profiles", help="extra folder(s) of site profiles (*.yaml)")] = [],
) -> None:
    """Extract product fields from saved pages, with the spider's extraction function.

    Writes one JSON object keyed by page id (the path relative to the folder given, or the name of a
    file given, without .html/.html.gz: shoes/index.html → shoes/index): price (plain
    decimal string), currency (ISO 4217), sku, gtin, mpn, brand, availability (InStock/OutOfStock),
    title, description; fields not found are left out.
    """
    import json
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from labelops.extraction import SiteProfiles
    from labelops.extraction.pages import PageError, extract_file, find_page_ids

    err = Console(stderr=True, soft_wrap=True)
    try:
        pages = find_page_ids(paths)
        site_profiles = SiteProfiles.load(*profiles)
    except (PageError, FileNotFoundError, ValueError) as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    if str(out) != "-" and out.parent and not out.parent.exists():
        err.print(f"[bold red]error:[/] {escape(str(out.parent))}: no such folder for --out")
        raise typer.Exit(2)

    results: dict[str, dict] = {}
    failed: list[str] = []
    started = time.perf_counter()
    with Progress(TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, disable=len(pages) < PROGRESS_FROM, transient=True) as progress:
        task = progress.add_task("pages", total=len(pages))
        for key, path in pages.items():
            try:
                results[key] = extract_file(path, site_profiles)
            except PageError as exc:
                failed.append(str(exc))
                results[key] = {}
            progress.advance(task)
    seconds = time.perf_counter() - started

    text = json.dumps(results, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if str(out) == "-":
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    found = sum(1 for fields in results.values() if fields)
    err.print(f"{len(pages)} page(s), product found on {found}, in {seconds:.1f} s "
              f"({len(pages) / max(seconds, 1e-9):.1f} pages/s)" + ("" if str(out) == "-" else f" → {out}"))
    for message in failed:
        err.print(f"[bold red]error:[/] {escape(message)}")
    if failed:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
