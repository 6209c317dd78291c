"""Screenshots of the Prefect and MLflow UIs for README's "Running it in production".

Starts a Prefect server and an MLflow server on 127.0.0.1 (temporary folders), runs a small demo
against them, registers the deployments (`labelops deploy`), photographs the pages with the OS's
Chromium through Playwright (which downloads no browser) and stops both servers:

    python docs/capture_screenshots.py [--products 60] [--train-steps 30] [--gan-steps 30]

The images go to docs/images/ui-*.png (about 1200 px wide, palette PNGs under ~300 KB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
WIDTH, HEIGHT = 1200, 820
MLFLOW_PANEL = 390


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def post_json(url: str, body: dict) -> object:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def shrink(path: Path, limit: int = 300_000) -> None:
    """Keep the PNG small: optimise, and as a 256-colour palette image when still over ``limit``."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    image.save(path, optimize=True)
    if path.stat().st_size > limit:
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=60)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--gan-steps", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--reuse", type=Path, help="a folder kept by --keep: photograph it again, no new runs")
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no Chromium: apt-get install chromium", file=sys.stderr)
        return 1
    work = args.reuse or Path(tempfile.mkdtemp(prefix="labelops-screenshots-"))
    prefect_port, mlflow_port, shop_port = free_port(), free_port(), free_port()
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api", "MLFLOW_DISABLE_TELEMETRY": "true",
           "LABELOPS_DATA": str(work / "data"), "LABELOPS_MLFLOW_URI": f"http://127.0.0.1:{mlflow_port}",
           "LABELOPS_WORK_DIR": str(work / "cache"), "LABELOPS_IMAGE_EVALUATOR_STEPS": "30",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost",
           "PYTHONPATH": str(ROOT)}
    bin_dir = Path(sys.executable).parent
    logs = {name: (work / f"{name}.log").open("a") for name in ("prefect", "mlflow")}  # closed below
    servers = [
        subprocess.Popen([str(bin_dir / "prefect"), "server", "start", "--host", "127.0.0.1",
                          "--port", str(prefect_port)], env=env, cwd=work,
                         stdout=logs["prefect"], stderr=subprocess.STDOUT, start_new_session=True),
        subprocess.Popen([str(bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(mlflow_port),
                          "--workers", "1", "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                          "--artifacts-destination", str(work / "mlartifacts")],
                         env={**env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}, cwd=work,
                         stdout=logs["mlflow"], stderr=subprocess.STDOUT, start_new_session=True),
    ]
    try:
        wait_for(f"http://127.0.0.1:{prefect_port}/api/health")
        wait_for(f"http://127.0.0.1:{mlflow_port}/health")
        labelops = [sys.executable, "-m", "app.cli"]
        if not args.reuse:
            started = time.monotonic()
            subprocess.run([*labelops, "demo", "--products", str(args.products), "--train-steps",
                            str(args.train_steps), "--gan-steps", str(args.gan_steps), "--port", str(shop_port)],
                           env=env, cwd=ROOT, check=True)
            print(f"demo: {time.monotonic() - started:.0f} s", flush=True)
            subprocess.run([*labelops, "deploy", "--pool", "process"], env=env, cwd=ROOT, check=True)
        capture(chromium, prefect_port, mlflow_port)
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        for log in logs.values():
            log.close()
        if not (args.keep or args.reuse):
            shutil.rmtree(work, ignore_errors=True)
    return 0


def capture(chromium: str, prefect_port: int, mlflow_port: int) -> None:
    from playwright.sync_api import sync_playwright

    api = f"http://127.0.0.1:{prefect_port}/api"
    ui = f"http://127.0.0.1:{prefect_port}"
    (train,) = post_json(f"{api}/deployments/filter", {"deployments": {"name": {"any_": ["labelops-train"]}}})
    runs = post_json(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                                                 "sort": "START_TIME_ASC"})
    flows = {flow["id"]: flow["name"] for flow in post_json(f"{api}/flows/filter", {})}
    by_flow = {flows.get(run["flow_id"]): run for run in runs}
    train_run, generate_run = by_flow["train"], by_flow["generate"]
    mlflow = f"http://127.0.0.1:{mlflow_port}"
    model = "product-text-generator"
    versions = get_json(f"{mlflow}/api/2.0/mlflow/model-versions/search?filter=name%3D%27{model}%27")
    run_id = versions["model_versions"][0]["run_id"]
    experiment_id = get_json(f"{mlflow}/api/2.0/mlflow/runs/get?run_id={run_id}")["run"]["info"]["experiment_id"]

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(request.url))

        def shot(url: str, name: str, wait_text: str | None = None, settle: float = 3.0, tab: str | None = None,
                 scroll: str | None = None) -> None:
            page.goto(url, wait_until="load", timeout=120_000)
            if wait_text:
                try:
                    page.get_by_text(wait_text).first.wait_for(timeout=30_000)
                except Exception as error:  # noqa: BLE001 - photograph what is there, and say so
                    print(f"{name}: {wait_text!r} did not appear ({type(error).__name__})", flush=True)
            time.sleep(settle)
            if tab:
                page.get_by_text(tab, exact=True).first.click(timeout=15_000)
                time.sleep(settle)
            clip = None
            if url.startswith(mlflow):  # MLflow's assistant panel (about 390 px on the right): left out
                clip = {"x": 0, "y": 0, "width": page.viewport_size["width"] - MLFLOW_PANEL,
                        "height": page.viewport_size["height"]}
            if scroll:
                try:
                    page.get_by_text(scroll).first.scroll_into_view_if_needed(timeout=10_000)
                except Exception as error:  # noqa: BLE001
                    print(f"{name}: could not scroll to {scroll!r} ({type(error).__name__})", flush=True)
                time.sleep(1)
            path = IMAGES / f"{name}.png"
            page.screenshot(path=str(path), clip=clip)
            shrink(path)
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB", flush=True)

        shot(f"{ui}/deployments/deployment/{train['id']}/run", "ui-prefect-train-run-form", "devices")
        shot(f"{ui}/runs/flow-run/{train_run['id']}", "ui-prefect-flow-run-logs", "progress:", settle=4,
             scroll="progress:")
        shot(f"{ui}/runs/flow-run/{generate_run['id']}", "ui-prefect-flow-run-artifacts", settle=4, tab="Artifacts")
        # MLflow 3.17 opens in its GenAI view with an assistant panel: the model-training view, a wider
        # window, and the panel cut off the picture
        page.set_viewport_size({"width": WIDTH + 310, "height": HEIGHT})
        page.goto(f"{mlflow}/#/", wait_until="load", timeout=120_000)
        time.sleep(4)
        for what, locator in (("the model-training view", page.get_by_text("Model training", exact=True)),):
            try:
                locator.first.click(timeout=5_000)
                time.sleep(2)
            except Exception as error:  # noqa: BLE001
                print(f"could not switch off {what} ({type(error).__name__})", flush=True)
        shot(f"{mlflow}/#/models/{model}", "ui-mlflow-registered-model", "Version 1", settle=3)
        shot(f"{mlflow}/#/experiments/{experiment_id}/runs/{run_id}", "ui-mlflow-run", settle=5)
        browser.close()
        outside = sorted({url for url in failed if "127.0.0.1" not in url})
        print("requests that failed outside 127.0.0.1:", outside or "none", flush=True)


if __name__ == "__main__":
    sys.exit(main())
