"""Real servers for integration tests: PostgreSQL, a Prefect server, an MLflow tracking server.

Each is a context manager that binds 127.0.0.1 on a free port, waits until the server answers,
yields where to reach it, and stops the whole process tree on exit (also on an exception)::

    with postgres_server(tmp / "pg") as dsn, \\
         prefect_server(tmp / "prefect", database_url=create_database(dsn, "prefect", "asyncpg")) as api_url, \\
         mlflow_server(create_database(dsn, "mlflow", "psycopg2"), tmp / "artifacts") as mlflow_url:
        ...

Where a server cannot be started (PostgreSQL not installed), :class:`ServerUnavailable` says why;
tests turn it into a skip.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

POSTGRES_BIN_DIRS = [Path("/usr/lib/postgresql") / v / "bin" for v in ("17", "16", "15", "14", "13")]


class ServerUnavailable(RuntimeError):
    """The server cannot run on this machine (e.g. PostgreSQL is not installed)."""


class ServerFailed(RuntimeError):
    """The server started but did not become healthy; the message holds the end of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "<no log>"


def start(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
          user: str | None = None) -> subprocess.Popen:
    """Start ``command`` in its own process group (so that stop() reaches its children), output to ``log``."""
    if user:
        command = ["runuser", "-u", user, "--", *command]
    with open(log, "ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    """Signal the process group; SIGKILL what is left after ``timeout`` seconds."""
    if process.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


def wait_until(check, process: subprocess.Popen, log: Path, what: str, timeout: float) -> None:  # noqa: ANN001
    """Poll ``check()`` until it is true; fail with the log's tail when the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    raise ServerFailed(f"{what} not healthy after {timeout:.0f} s:\n{_tail(log)}")


def http_ok(url: str, expect: bytes | None = None) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
        body = response.read()
        return response.status == 200 and (expect is None or expect in body)


def _child_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.update(extra)
    return env


def enter_together(stack: contextlib.ExitStack, *managers: contextlib.AbstractContextManager) -> list:
    """Enter several server context managers at once (they start in parallel threads); each one that
    started is registered on ``stack`` for stopping, also when another failed to start."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
    results, error = [], None
    for manager, future in zip(managers, futures):
        try:
            results.append(future.result())
            stack.push(manager)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others are registered
            error = error or exc
    if error is not None:
        raise error
    return results


# ------------------------------------------------------------------------------- PostgreSQL
def postgres_bin() -> Path:
    """The folder of initdb/pg_ctl/postgres: PATH first, then Debian's /usr/lib/postgresql/<v>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    for folder in POSTGRES_BIN_DIRS:
        if (folder / "initdb").exists():
            return folder
    raise ServerUnavailable("PostgreSQL is not installed (no initdb): apt-get install postgresql")


def _unprivileged_user() -> str:
    """A user PostgreSQL agrees to run as when we are root: postgres if it exists, else nobody."""
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise ServerUnavailable("running as root and there is no postgres or nobody user to run PostgreSQL as")


@contextlib.contextmanager
def postgres_server(tmp_dir: Path, timeout: float = 60) -> Iterator[str]:
    """A fresh PostgreSQL cluster on 127.0.0.1 (trust auth); yields the DSN of its ``postgres`` database.

    As root, the cluster belongs to an unprivileged user (postgres refuses to run as root) and
    lives in a folder of /tmp that user owns, removed on exit; otherwise under ``tmp_dir``.
    """
    bin_dir = postgres_bin()
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    user = _unprivileged_user() if os.geteuid() == 0 else None
    if user:
        base = Path(tempfile.mkdtemp(prefix="labelops-pg-"))  # /tmp is reachable; pytest's tmp_path is 0700 root
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
        db_user = user
    else:
        base = tmp_dir
        db_user = pwd.getpwuid(os.getuid()).pw_name
    data, log = base / "data", tmp_dir / "postgres.log"
    port = free_port()
    process = None
    try:
        init = subprocess.run(
            (["runuser", "-u", user, "--"] if user else [])
            + [str(bin_dir / "initdb"), "-D", str(data), "-U", db_user, "--auth=trust", "--encoding=UTF8",
               "--no-sync", "--no-instructions"],
            capture_output=True, text=True, env=_child_env(LC_ALL="C.UTF-8", LANG="C.UTF-8"))
        if init.returncode:
            raise ServerFailed(f"initdb failed ({init.returncode}):\n{init.stdout[-2000:]}\n{init.stderr[-2000:]}")
        process = start([str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                         "-k", str(base), "-c", "fsync=off", "-c", "synchronous_commit=off",
                         "-c", "full_page_writes=off", "-c", "max_connections=200"],
                        log, env=_child_env(LC_ALL="C.UTF-8"), user=user)
        dsn = f"postgresql://{db_user}@127.0.0.1:{port}/postgres"

        def accepting() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
            return _pg_ready(bin_dir, port, db_user)

        wait_until(accepting, process, log, "PostgreSQL", timeout)
        yield dsn
    finally:
        if process is not None:
            stop(process, signal.SIGINT)  # "fast" shutdown
        if user:
            shutil.rmtree(base, ignore_errors=True)


def _pg_ready(bin_dir: Path, port: int, user: str) -> bool:
    ready = bin_dir / "pg_isready"
    if not ready.exists():
        return True
    return subprocess.run([str(ready), "-h", "127.0.0.1", "-p", str(port), "-U", user],
                          capture_output=True).returncode == 0


def create_database(dsn: str, name: str, driver: str | None = None) -> str:
    """Create database ``name`` on the server of ``dsn``; its URL (``postgresql+<driver>://`` with a driver)."""
    import psycopg2

    connection = psycopg2.connect(dsn)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    url = dsn.rsplit("/", 1)[0] + f"/{name}"
    return url.replace("postgresql://", f"postgresql+{driver}://", 1) if driver else url


# ------------------------------------------------------------------------------- Prefect
@contextlib.contextmanager
def prefect_server(home: Path, database_url: str | None = None, timeout: float = 120,
                   extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``prefect server start`` on 127.0.0.1 with ``PREFECT_HOME=home`` (sqlite there unless
    ``database_url``, e.g. ``postgresql+asyncpg://...``); yields the API URL (``http://127.0.0.1:<port>/api``)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), home / "server.log"
    env = _child_env(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_UI_ENABLED="false",
                     PREFECT_LOGGING_LEVEL="WARNING", **(extra_env or {}))
    env.pop("PREFECT_API_URL", None)
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    process = start([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    log, env=env)
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        wait_until(lambda: http_ok(f"{api_url}/health", b"true"), process, log, "Prefect server", timeout)
        yield api_url
    finally:
        stop(process)


# ------------------------------------------------------------------------------- MLflow
@contextlib.contextmanager
def mlflow_server(backend_uri: str, artifacts_dir: Path, timeout: float = 120) -> Iterator[str]:
    """A lean ``mlflow server`` (one worker, no job runner) on 127.0.0.1 with ``backend_uri`` and artifacts
    proxied into ``artifacts_dir``; yields its URL (``http://127.0.0.1:<port>``)."""
    artifacts_dir = Path(artifacts_dir)
    artifacts_dir.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), artifacts_dir.parent / f"mlflow-{artifacts_dir.name}.log"
    env = _child_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false", MLFLOW_DISABLE_TELEMETRY="true")
    process = start([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                     "--workers", "1", "--backend-store-uri", backend_uri,
                     "--artifacts-destination", str(artifacts_dir)], log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/health"), process, log, "MLflow server", timeout)
        yield url
    finally:
        stop(process)


# ------------------------------------------------------------------------------- Redis
@contextlib.contextmanager
def redis_server(tmp_dir: Path, timeout: float = 30) -> Iterator[str]:
    """Debian's ``redis-server`` on 127.0.0.1 (no persistence, working folder ``tmp_dir``); yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server is not installed: apt-get install redis-server")
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), tmp_dir / "redis.log"
    process = start([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                     "--dir", str(tmp_dir), "--protected-mode", "yes"], log)
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    try:
        wait_until(answers, process, log, "Redis", timeout)
        yield url
    finally:
        stop(process)
