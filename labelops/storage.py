"""The data root: one fsspec URL, one layout (DESIGN.md, Storage).

```
raw/<crawl_id>/items.jsonl            what the spider saw, one product page a line
raw/<crawl_id>/crawl.json             the crawl's counts
images/<sha1>.jpg                     downloaded product images
snapshots/<snapshot_id>/listings.parquet + validation.json + manifest.json
quarantine/<crawl_id>.parquet         rows that broke expectations, with their names
data_docs/                            Great Expectations Data Docs
```
Paths handed around are relative to the root ("images/ab12.jpg"), so a data root can move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.core import url_to_fs


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

    # -- the layout -----------------------------------------------------------------------
    @staticmethod
    def raw_items(crawl_id: str) -> str:
        return f"raw/{crawl_id}/items.jsonl"

    @staticmethod
    def crawl_stats(crawl_id: str) -> str:
        return f"raw/{crawl_id}/crawl.json"

    @staticmethod
    def snapshot_dir(snapshot_id: str) -> str:
        return f"snapshots/{snapshot_id}"

    @staticmethod
    def snapshot_listings(snapshot_id: str) -> str:
        return f"snapshots/{snapshot_id}/listings.parquet"

    @staticmethod
    def quarantine(crawl_id: str) -> str:
        return f"quarantine/{crawl_id}.parquet"

    DATA_DOCS = "data_docs"

    # -- helpers --------------------------------------------------------------------------
    def exists(self, relative: str) -> bool:
        return self.fs.exists(self.path(relative))

    def makedirs(self, relative: str) -> None:
        self.fs.makedirs(self.path(relative), exist_ok=True)

    @contextmanager
    def open(self, relative: str, mode: str = "rb", **kwargs: Any) -> Iterator[IO]:
        if "w" in mode or "a" in mode:
            parent = relative.rsplit("/", 1)[0] if "/" in relative else ""
            if parent:
                self.makedirs(parent)
        with self.fs.open(self.path(relative), mode, **kwargs) as handle:
            yield handle

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
        if not self.exists(relative):
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(self.path(relative), detail=False))

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
