"""Named locks: one process at a time for the steps that must not run twice at once.

Every lock lives in the data root itself (:func:`exclusive`), so it holds across every process and
machine that shares the data root: a file lock under ``<data>/locks/`` on a local (or shared) disk,
a lease object ``locks/<name>.lease`` on an object store. Used by the gate (one champion move per
model at a time), labelling (one labels run per snapshot), the feedback flow (one retraining
decision at a time) and feedback collection (one collection at a time).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from labelops import catalog
from labelops.settings import Settings, get_settings
from labelops.storage import DataRoot

log = logging.getLogger(__name__)


class LockTimeout(RuntimeError):
    """Another process held the lock for longer than we were willing to wait."""


@contextmanager
def named_lock(name: str, settings: Settings | None = None, timeout: float = 600) -> Iterator[str]:
    """Hold ``name`` (made file-safe) on the settings' data root, across machines:
    :func:`exclusive`; yields where the lock lives."""
    with exclusive(DataRoot((settings or get_settings()).data), name, timeout) as where:
        yield where


@contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(str(path), timeout=timeout):
            yield path
    except Timeout as error:
        raise LockTimeout(f"another process has held {path} for over {timeout:.0f} s") from error


LEASE_SECONDS = 15 * 60


@contextmanager
def exclusive(root: DataRoot, name: str, timeout: float = 600, lease_seconds: float = LEASE_SECONDS) -> Iterator[str]:
    """Hold ``name`` for the data root ``root``, across processes and machines that share it; yields
    where the lock lives.

    - a local data root: a file lock, ``<data>/locks/<name>.lock`` (released by the operating
      system when its holder dies, so a killed process never leaves it held);
    - an object store: a *lease*, the object ``locks/<name>.lease``, created only if it does not
      exist (S3's conditional write, ``If-None-Match: *``) and deleted on release. While it is
      held, a thread renews it every third of ``lease_seconds`` (so a long holder keeps it); a
      holder that dies leaves its lease behind, which expires at most ``lease_seconds`` after its
      last renewal and is then broken by the next process that wants the lock.
    """
    if root.is_local:
        with _file_lock(Path(root.path(catalog.LOCKS)) / f"{_file_safe(name)}.lock", timeout) as path:
            yield str(path)
        return
    relative = catalog.lock_lease(_file_safe(name))
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    _take_lease(root, relative, owner, timeout, lease_seconds)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew_lease, args=(root, relative, owner, lease_seconds, stop),
                               name=f"lease {relative}", daemon=True)
    renewer.start()
    try:
        yield root.uri(relative)
    finally:
        stop.set()
        renewer.join()
        _drop_lease(root, relative, owner)


def _file_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _read_lease(root: DataRoot, relative: str) -> dict | None:
    try:
        return root.read_json(relative)
    except FileNotFoundError:
        return None
    except ValueError:  # an unreadable lease is treated as expired
        return {}


def _take_lease(root: DataRoot, relative: str, owner: str, timeout: float, lease_seconds: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        now = datetime.now(timezone.utc)
        try:
            with root.open(relative, "xb") as handle:
                handle.write(_lease(owner, now, lease_seconds))
            return
        except FileExistsError:
            pass
        held = _read_lease(root, relative)
        if held is not None and _expired(held, now):
            log.warning("breaking the expired lease %s (held by %s)", root.uri(relative), held.get("owner", "?"))
            root.remove(relative)
            continue
        if time.monotonic() > deadline:
            raise LockTimeout(f"{(held or {}).get('owner', 'another process')} has held {root.uri(relative)} "
                              f"for over {timeout:.0f} s")
        time.sleep(1.0)


def _lease(owner: str, taken_at: datetime, lease_seconds: float) -> bytes:
    now = datetime.now(timezone.utc)
    return json.dumps({"owner": owner, "taken_at": taken_at.isoformat(), "renewed_at": now.isoformat(),
                       "expires_at": (now + timedelta(seconds=lease_seconds)).isoformat()}).encode()


def _renew_lease(root: DataRoot, relative: str, owner: str, lease_seconds: float, stop: threading.Event) -> None:
    """Push the lease's expiry ahead every third of ``lease_seconds`` while it is still ours."""
    while not stop.wait(lease_seconds / 3):
        held = _read_lease(root, relative)
        if not held or held.get("owner") != owner:
            log.warning("lease %s is no longer ours (held by %s); not renewing it", root.uri(relative),
                        (held or {}).get("owner", "nobody"))
            return
        try:
            taken = datetime.fromisoformat(held["taken_at"])
        except (KeyError, TypeError, ValueError):
            taken = datetime.now(timezone.utc)
        try:
            with root.open(relative, "wb") as handle:
                handle.write(_lease(owner, taken, lease_seconds))
        except Exception as error:  # noqa: BLE001 - the next renewal tries again (the lease lasts three periods)
            log.warning("could not renew the lease %s: %s", root.uri(relative), error)


def _expired(lease: dict, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(lease["expires_at"]) <= now
    except (KeyError, TypeError, ValueError):
        return True


def _drop_lease(root: DataRoot, relative: str, owner: str) -> None:
    held = _read_lease(root, relative)
    if held is not None and held.get("owner") == owner:
        root.remove(relative)
    else:
        log.warning("lease %s was no longer ours when we released it (it expired and was broken)", root.uri(relative))
