"""The data root: one fsspec URL (the paths under it are named in :mod:`labelops.catalog`).

Paths handed around are relative to the root ("images/ab12.jpg"), so a data root can move.

Every file is written whole or not at all (:meth:`DataRoot.open` in a write mode): on a local
disk it is written under a hidden temporary name in the same folder (``.<name>.tmp-<random>``),
flushed to disk and renamed over the final name; a reader sees the old file or the new one,
never half of one, and a crash leaves at most a temporary file that no reader lists. On an
object store (S3) an object appears only when its upload completes; a write that fails is
aborted rather than completed with what was written so far. A group of files (a snapshot, a
labels run) is published by a file written last, which readers look for.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.core import url_to_fs

_TEMPORARY = re.compile(r"^\..+\.tmp-[0-9a-f]{12}$")


def is_temporary(name: str) -> bool:
    """Whether a file name is one of :meth:`DataRoot.open`'s temporary names (a write in progress,
    or left by a crash): readers skip them."""
    return bool(_TEMPORARY.match(name.rsplit("/", 1)[-1]))



@dataclass(frozen=True)
class DataRoot:
    """A data root URL with the layout's paths and small read/write helpers."""

    url: str

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        return url_to_fs(self.url)[0]

    @property
    def is_local(self) -> bool:
        """Whether the root is a folder on this machine (not an object store)."""
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        return bool({"file", "local"} & set(protocols))

    @property
    def _root(self) -> str:
        return url_to_fs(self.url)[1]

    def path(self, relative: str) -> str:
        """Filesystem path (for ``self.fs``) of a path relative to the root."""
        return f"{self._root.rstrip('/')}/{relative.lstrip('/')}"

    def uri(self, relative: str) -> str:
        """Full URL of a path relative to the root, for people and other tools."""
        return self.fs.unstrip_protocol(self.path(relative)) if "://" in self.url else self.path(relative)

    # -- helpers --------------------------------------------------------------------------
    def exists(self, relative: str) -> bool:
        return self.fs.exists(self.path(relative))

    def makedirs(self, relative: str) -> None:
        self.fs.makedirs(self.path(relative), exist_ok=True)

    @contextmanager
    def open(self, relative: str, mode: str = "rb", **kwargs: Any) -> Iterator[IO]:
        """Open a file under the root. Writes (``"w"``, ``"wb"``; ``"x"``/``"xb"``: only if the
        file does not exist yet) publish the file when the ``with`` block ends without an
        exception, all at once; an exception throws the partial file away. Appends are not atomic."""
        if not any(flag in mode for flag in "wax"):
            with self.fs.open(self.path(relative), mode, **kwargs) as handle:
                yield handle
            return
        parent = relative.rsplit("/", 1)[0] if "/" in relative else ""
        if parent:
            self.makedirs(parent)
        if "a" in mode:
            with self.fs.open(self.path(relative), mode, **kwargs) as handle:
                yield handle
            return
        writer = self._write_local if self.is_local else self._write_remote
        with writer(self.path(relative), "x" in mode) as raw:
            if "b" in mode:
                yield raw
                return
            text = io.TextIOWrapper(raw, encoding=kwargs.get("encoding") or "utf-8", newline=kwargs.get("newline"),
                                    write_through=True)
            yield text
            text.flush()
            text.detach()  # the binary file is closed (published) by the writer, not by the wrapper

    @staticmethod
    @contextmanager
    def _write_local(target: str, exclusive: bool) -> Iterator[IO[bytes]]:
        """Write under a temporary name beside ``target``, then rename (``exclusive``: link, which
        fails if ``target`` exists)."""
        folder, name = os.path.split(target)
        temporary = os.path.join(folder, f".{name}.tmp-{secrets.token_hex(6)}")
        handle = open(temporary, "xb")  # noqa: SIM115 - closed below, on every path
        try:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())  # the content is on disk before the name points at it
            handle.close()
            if exclusive:
                os.link(temporary, target)  # FileExistsError when someone else was first
                os.unlink(temporary)
            else:
                os.replace(temporary, target)
        except BaseException:
            handle.close()
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise

    @contextmanager
    def _write_remote(self, target: str, exclusive: bool) -> Iterator[IO[bytes]]:
        """An object store publishes an object when its upload completes (``exclusive``: S3's
        If-None-Match, which fails if the object exists); on an exception the upload is aborted."""
        handle = self.fs.open(target, "xb" if exclusive else "wb")
        try:
            yield handle
        except BaseException:
            discard = getattr(handle, "discard", None)
            if discard is not None:
                discard()
                handle.closed = True  # closing would otherwise complete the upload with what was written
            else:
                handle.close()
            raise
        handle.close()

    def write_json(self, relative: str, obj: Any) -> None:
        with self.open(relative, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, indent=2, ensure_ascii=False, sort_keys=True, default=str)
            handle.write("\n")

    def read_json(self, relative: str) -> Any:
        with self.open(relative, "r", encoding="utf-8") as handle:
            return json.load(handle)

    def iter_jsonl(self, relative: str) -> Iterator[dict]:
        """Stream the records of a JSON-lines file, one at a time."""
        with self.open(relative, "r", encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)

    def read_parquet(self, relative: str, columns: list[str] | None = None) -> pa.Table:
        with self.open(relative, "rb") as handle:
            return pq.read_table(handle, columns=columns)

    def parquet_writer(self, relative: str, schema: pa.Schema) -> "ParquetSink":
        return ParquetSink(self, relative, schema)

    def listdir(self, relative: str) -> list[str]:
        """Names in a folder, without the temporary files of writes in progress (or interrupted)."""
        if not self.exists(relative):
            return []
        names = (p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.path(relative), detail=False))
        return sorted(name for name in names if not is_temporary(name))

    def inside(self, relative: str) -> str | None:
        """``relative`` normalised, if it names something inside the root (else ``None``).

        A path that climbs out (``../secret``), is absolute or is a URL is refused; on a local
        disk the path is also resolved, so a symbolic link that leads out of the root is refused."""
        if not isinstance(relative, str) or not relative or "\x00" in relative or "://" in relative \
                or relative.startswith(("/", "\\")):
            return None
        normal = posixpath.normpath(relative.replace("\\", "/"))
        if normal in (".", "..") or normal.startswith("../"):
            return None
        if self.is_local:
            base = os.path.realpath(self._root)
            real = os.path.realpath(os.path.join(base, normal))
            if os.path.commonpath([base, real]) != base:
                return None
        return normal

    def remove(self, relative: str, recursive: bool = False) -> None:
        if self.exists(relative):
            self.fs.rm(self.path(relative), recursive=recursive)

    def move(self, src: str, dst: str, last: str | None = None) -> None:
        """Move a file or a folder. On a local disk a folder moves in one rename.

        Object stores (S3, GCS) have no folders and no rename: a folder's files are copied and
        deleted one at a time (fsspec's recursive ``mv`` also tries to copy the folder itself,
        which S3 refuses), and the file named ``last`` moves after all the others, so that its
        presence at ``dst`` means the whole folder arrived.
        """
        parent = dst.rsplit("/", 1)[0] if "/" in dst else ""
        if parent:
            self.makedirs(parent)
        source, target = self.path(src), self.path(dst)
        if self.is_local or not self.fs.isdir(source):
            self.fs.mv(source, target, recursive=True)
            return
        prefix = source.rstrip("/") + "/"
        files = sorted(self.fs.find(source), key=lambda path: path.rsplit("/", 1)[-1] == last)
        for path in files:
            self.fs.mv(path, target.rstrip("/") + "/" + path.removeprefix(prefix))
        self.fs.invalidate_cache(source)


class ParquetSink:
    """Append record batches to one Parquet file without holding the table in memory."""

    def __init__(self, root: DataRoot, relative: str, schema: pa.Schema):
        self.root, self.relative, self.schema = root, relative, schema
        self.rows = 0
        self._handle_cm = None
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> "ParquetSink":
        self._handle_cm = self.root.open(self.relative, "wb")
        handle = self._handle_cm.__enter__()
        self._writer = pq.ParquetWriter(handle, self.schema, compression="zstd")
        return self

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            assert self._writer is not None
            self._writer.write_table(table.cast(self.schema))
            self.rows += table.num_rows

    def __exit__(self, *exc: Any) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._handle_cm is not None:
            self._handle_cm.__exit__(*exc)
