"""``labelops shop``: generate the demo shop, render a real catalog as a shop, serve a folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:  # the shop's modules (pyarrow, Jinja) load when a shop command runs: `labelops --help` stays quick
    from labelops.shop.site import SiteSummary

shop_app = typer.Typer(
    help="The demo shop: generate a synthetic shop, render a real catalog as a shop, serve a shop folder.",
    no_args_is_help=True,
)
console = Console()
err_console = Console(stderr=True)

OutDir = Annotated[Path, typer.Argument(help="Folder to write the static site into (created; must be empty).")]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace an earlier shop in OUT_DIR (only a folder this command wrote).")
]


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar; yields the callback that advances it."""
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, transient=True
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda step: progress.advance(task, step)


def _fail(error: Exception) -> NoReturn:
    """Print a one-line error and exit with status 1."""
    err_console.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
    raise typer.Exit(1) from error


def _report(summary: SiteSummary) -> None:
    """Say what was written and how to look at it."""
    defects = sum(summary.defects.values())
    console.print(
        f"[green]Wrote[/green] {summary.products} products ({defects} deliberately defective) in "
        f"{summary.categories} categories, {summary.listing_pages} listing pages and {summary.images} images "
        f"to [bold]{escape(str(summary.out_dir))}[/bold]",
        soft_wrap=True,
    )
    console.print(
        f"Ground truth: {escape(str(summary.out_dir / '_catalog'))}   "
        f"Serve it: labelops shop serve {escape(str(summary.out_dir))}",
        soft_wrap=True,
    )


@shop_app.command()
def demo(
    out_dir: OutDir,
    products: Annotated[int, typer.Option("--products", "-n", min=1, help="Number of products.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives byte-identical output.")] = 0,
    overwrite: Overwrite = False,
) -> None:
    """Generate the synthetic demo shop as a static site.

    About 3% of the products are broken on purpose; OUT_DIR/_catalog/ holds the ground truth.
    """
    from labelops.shop.catalog import generate_demo_shop

    try:
        with _progress(products, "Rendering demo shop") as advance:
            summary = generate_demo_shop(out_dir, products, seed, overwrite=overwrite, progress=advance)
    except FileExistsError as error:
        _fail(error)
    _report(summary)


@shop_app.command()
def render(
    catalog: Annotated[
        Path,
        typer.Argument(help="Catalog file: JSON lines in the Listing shape (.jsonl/.json) or a Flipkart CSV (.csv)."),
    ],
    out_dir: OutDir,
    name: Annotated[str, typer.Option("--name", help="Shop name shown on every page.")] = "Catalog Store",
    overwrite: Overwrite = False,
) -> None:
    """Render a real catalog as a static shop with the demo shop's templates."""
    from labelops.shop.real import CatalogFormatError, load_catalog, render_products

    try:
        products = load_catalog(catalog)
        with _progress(len(products), f"Rendering {catalog.name}") as advance:
            summary = render_products(products, out_dir, shop_name=name, overwrite=overwrite, progress=advance)
    except (FileNotFoundError, FileExistsError, CatalogFormatError) as error:
        _fail(error)
    _report(summary)


@shop_app.command()
def serve(
    directory: Annotated[Path, typer.Argument(help="Folder to serve (any static site, e.g. a shop from `demo`).")],
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on (0 picks a free one).")] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every request.")] = False,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="URL that replaces __BASE_URL__ (default: http://HOST:PORT).")] = None,
) -> None:
    """Serve a folder over HTTP until Ctrl-C, filling in __BASE_URL__ in sitemaps and robots.txt."""
    from labelops.shop.server import make_server, server_url

    try:
        server = make_server(directory, host, port, verbose, base_url)
    except OSError as error:  # not a folder, or the port is taken
        _fail(error)
    url = server_url(server)
    console.print(f"Serving [bold]{escape(str(directory))}[/bold] at {url}/  (Ctrl-C to stop)", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console.print("Stopped.")
    finally:
        server.server_close()
