"""The Chroma store: builds, manifest, atomic activation.

An index is a sequence of *builds*. Every change (incremental or full) is written into a new
build beside the live one and then activated in one atomic step, so a crash at any point leaves
the previous build serving.

- Embedded (default): `index/builds/<build_id>/` is a Chroma PersistentClient folder holding the
  collection and `manifest.json`; `index/CURRENT` names the live build and is replaced with
  os.replace (atomic on POSIX).
- Server (`chroma_url` set): each build is a collection `wegwijzer-<build_id>` with the manifest
  in its metadata; the collection `wegwijzer-current` names the live build in its metadata.

Besides its passages a build stores the cleaned text of every indexed document (what the document
viewer shows; chunk offsets point into it) and its persisted search index (the BM25 index and the
rest of what the first search would otherwise compute, see `assistant.retrieve`):

- Embedded: `documents.jsonl` and `search/` (npz files, then `search/index.json` written last) in
  the build folder.
- Server: the collections `wegwijzer-<build_id>-docs` (one record per document, the document as
  JSON in its metadata) and `wegwijzer-<build_id>-search` (an `index` record, written last, with the
  npz files' sizes, SHA-256 and pieces; the pieces themselves, base64 in record metadata, in
  `wegwijzer-<build_id>-search-NNNN`), all deleted with the build.

Only complete builds (with a manifest) count as builds to keep; `prune` runs under the writer lock
(embedded: a file lock; server: a lock collection `wegwijzer-lock` with a heartbeat), so it never
removes a build another indexer is still writing.

Releasing resources: an embedded build opens its Chroma client on first use and holds a lease on
it; `Build.close()` (or the build being garbage collected) returns the lease, and the client is
closed when the last lease of that build is returned (its files and threads are released then).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import io
import json
import logging
import os
import re
import shutil
import socket
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from assistant.errors import IndexMissingError, StoreError
from assistant.models import Chunk, Document, Filters, Hit

logger = logging.getLogger(__name__)

MANIFEST_FORMAT = 1
COLLECTION = "chunks"
SERVER_PREFIX = "wegwijzer-"
SERVER_POINTER = "wegwijzer-current"
SERVER_LOCK = "wegwijzer-lock"
DOCS_SUFFIX = "-docs"  # server: wegwijzer-<build_id>-docs, the build's documents
SEARCH_SUFFIX = "-search"  # server: wegwijzer-<build_id>-search, the build's persisted search index
KEEP_PREVIOUS_BUILDS = 1  # processes that opened the previous build keep working until they reload
# A server lock whose holder has shown no sign of life for this long belongs to a dead indexer and is
# taken over (a live indexer refreshes it at every embedding batch, seconds apart).
LOCK_STALE_SECONDS = 900.0
DOCUMENTS_FILE = "documents.jsonl"
SEARCH_DIR = "search"
SEARCH_INDEX_FILE = "index.json"  # written last: the search index is complete when it exists
SEARCH_INDEX_FORMAT = 1
_ADD_BATCH = 256
_BLOB_PIECE = 3 << 20  # bytes of a blob per server record (4 MB as base64)
# Adding to a collection on a Chroma server slows down with the collection's size (measured: 0.35 s for
# a 4 MB piece into an empty collection, 1.0 s after 12 of them; 300 pieces in one collection took over
# 20 minutes), so the pieces go into shard collections of at most this many pieces.
_PIECES_PER_SHARD = 8
_BUILD_ID = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{6}$")
_AUX_NAME = re.compile(r"^" + re.escape(SERVER_PREFIX) + r"(\d{8}T\d{12}-[0-9a-f]{6})-.+$")  # a build's other collections


def _chroma_settings():
    import chromadb

    return chromadb.Settings(anonymized_telemetry=False, allow_reset=False)


def new_build_id() -> str:
    """Sortable, unique: UTC time plus a random suffix."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f") + "-" + uuid.uuid4().hex[:6]


@dataclass
class Manifest:
    """What a build holds and how it was made; decides what to re-embed and when an index is stale."""

    build_id: str
    built_at: str
    fingerprint: str
    embedder: dict[str, Any]
    chunking: dict[str, Any]
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # rel path -> {sha256, doc_id, title, kind, chunks}
    format: int = MANIFEST_FORMAT

    @property
    def chunk_count(self) -> int:
        return sum(f["chunks"] for f in self.files.values())

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> "Manifest":
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise StoreError(f"The index manifest is not a JSON object but a {type(data).__name__}: the index is "
                             "damaged; run `assistant index --rebuild`.")
        if data.get("format") != MANIFEST_FORMAT:
            raise StoreError(
                f"Index manifest format {data.get('format')!r} is not supported by this version; "
                "run `assistant index --rebuild`."
            )
        manifest = cls(**data)
        files = manifest.files
        if not isinstance(files, dict) or not all(
                isinstance(f, dict) and isinstance(f.get("chunks"), int) and isinstance(f.get("sha256"), str)
                for f in files.values()):
            raise StoreError("The index manifest's file list is damaged; run `assistant index --rebuild`.")
        return manifest


# Sentence units of a passage travel with it in its metadata, so every copy, deletion and server
# collection of a build keeps them in step with their passage: their spans (JSON, offsets into the
# passage) and their vectors (float16, base64), embedded once at index time.
UNIT_SPANS = "unit_spans"
UNIT_VECTORS = "unit_vectors"
UNIT_KEYS = (UNIT_SPANS, UNIT_VECTORS)


def encode_units(spans: Sequence[tuple[int, int]], vectors: np.ndarray) -> dict[str, str]:
    """Metadata fields for a passage's sentence units."""
    matrix = np.asarray(vectors, dtype=np.float16).reshape(len(spans), -1) if spans else np.zeros((0, 0), np.float16)
    return {UNIT_SPANS: json.dumps([list(s) for s in spans]),
            UNIT_VECTORS: base64.b64encode(matrix.tobytes()).decode("ascii")}


def decode_units(meta: dict[str, Any]) -> tuple[list[tuple[int, int]], np.ndarray] | None:
    """A passage's sentence spans and their vectors (float32, one row per span), or None when the
    build has none (a build from before units were stored)."""
    if UNIT_SPANS not in meta or UNIT_VECTORS not in meta:
        return None
    spans = [(int(a), int(b)) for a, b in json.loads(meta[UNIT_SPANS])]
    raw = np.frombuffer(base64.b64decode(meta[UNIT_VECTORS]), dtype=np.float16)
    if not spans:
        return [], np.zeros((0, 0), np.float32)
    return spans, raw.reshape(len(spans), -1).astype(np.float32)


def chunk_metadata(chunk: Chunk) -> dict[str, Any]:
    """Chroma metadata for a chunk: its place in the document plus the document's scalar front matter."""
    meta: dict[str, Any] = {}
    for key, value in chunk.meta.items():
        if isinstance(value, bool | int | float) or (isinstance(value, str) and value):
            meta[key] = value
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            meta[key] = value
    meta.update(
        doc_id=chunk.doc_id,
        title=chunk.title,
        kind=chunk.kind,
        section=chunk.section,
        ordinal=chunk.ordinal,
        start=chunk.start,
        end=chunk.end,
        source=chunk.source,
    )
    return meta


def where_clause(filters: Filters | None) -> dict | None:
    """Chroma `where` for the given filters (themes is a list field: matched with $contains)."""
    if filters is None:
        return None
    parts: list[dict] = [{key: value} for key, value in filters.equalities()]
    if filters.theme:
        parts.append({"themes": {"$contains": filters.theme}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


@contextlib.contextmanager
def _store_errors(describe: Callable[[Exception], str]) -> Iterator[None]:
    """Turn any third-party exception into a StoreError with the message `describe(e)` (cause kept);
    a full disk gets its own message (a rebuild would not help)."""
    try:
        yield
    except (StoreError, IndexMissingError):
        raise
    except Exception as e:
        if is_disk_full(e):
            raise disk_full_error(e) from e
        raise StoreError(describe(e)) from e


def is_disk_full(error: BaseException) -> bool:
    """Whether an error (an OSError, or SQLite's or Chroma's own) says the disk is full."""
    import errno

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error).lower()
    return "disk is full" in text or "no space left" in text or "database or disk is full" in text


def disk_full_error(error: BaseException, where: str = "the index") -> StoreError:
    return StoreError(f"The disk holding {where} is full ({type(error).__name__}: {error}); free disk space, then run "
                      "`assistant index` again. The live index is unchanged.")


def _writable(path: Path) -> bool:
    """Whether Chroma can write the build's files there (False on a read-only mount, even for root)."""
    database = path / "chroma.sqlite3"
    return os.access(path, os.W_OK) and (not database.exists() or os.access(database, os.W_OK))


def _hits(result: dict) -> list[Hit]:
    hits = []
    for cid, text, meta, dist in zip(
        result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
    ):
        hits.append(
            Hit(
                chunk_id=cid,
                doc_id=meta["doc_id"],
                title=meta["title"],
                kind=meta["kind"],
                section=meta["section"],
                text=text,
                score=1.0 - float(dist),  # cosine distance -> cosine similarity
                start=int(meta["start"]),
                end=int(meta["end"]),
                meta={k: v for k, v in meta.items() if k not in UNIT_KEYS},
            )
        )
    return hits


class _Lease:
    """What a build holds on its store's resources: released once, by Build.close() or when the build is
    garbage collected (weakref.finalize), whichever comes first."""

    def __init__(self) -> None:
        self.release_fn: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            fn, self.release_fn = self.release_fn, None
        if fn is not None:
            fn()


class Build:
    """One build's Chroma collection plus its manifest.

    A build of an embedded store opens its collection on first use (reading the manifest needs no
    Chroma client) and then holds a lease on the store's client until `close()`, or until the build is
    garbage collected. A closed build that is used again (a straggler that took it before a newer
    build went live) opens it again, with a new lease that its garbage collection returns.
    """

    def __init__(self, build_id: str, collection=None, manifest: Manifest | None = None, *,
                 opener: Callable[["_Lease"], Any] | None = None, store: "Store | None" = None) -> None:
        self.build_id = build_id
        self.manifest = manifest
        self.store = store
        self._collection = collection
        self._opener = opener
        self._open_lock = threading.Lock()
        self._closed = False
        self._finalizer: weakref.finalize | None = None

    @property
    def collection(self):
        collection = self._collection
        if collection is None:
            with self._open_lock:
                if self._collection is None:
                    if self._opener is None:
                        raise StoreError(f"Index build {self.build_id} has no collection.")
                    lease = _Lease()
                    self._collection = self._opener(lease)
                    self._finalizer = weakref.finalize(self, lease.release)
                    self._closed = False
                collection = self._collection
        return collection

    @property
    def closed(self) -> bool:
        """Whether close() was called and the build has not been used since."""
        return self._closed

    def close(self) -> None:
        """Return this build's hold on its Chroma client (the client is closed with its last holder).
        Idempotent."""
        with self._open_lock:
            self._closed = True
            finalizer, self._finalizer = self._finalizer, None
            if self._opener is not None:
                self._collection = None
        if finalizer is not None:
            finalizer()

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            units: Sequence[tuple[Sequence[tuple[int, int]], np.ndarray]] | None = None) -> None:
        """Store passages with their vectors and, when given, each passage's sentence units (spans, vectors)."""
        metas = [chunk_metadata(c) for c in chunks]
        if units is not None:
            if len(units) != len(chunks):
                raise ValueError(f"units must give one entry per chunk ({len(units)} != {len(chunks)}).")
            metas = [{**m, **encode_units(*u)} for m, u in zip(metas, units)]
        for i in range(0, len(chunks), _ADD_BATCH):
            part = chunks[i : i + _ADD_BATCH]
            self.collection.add(
                ids=[c.id for c in part],
                embeddings=np.asarray(vectors[i : i + _ADD_BATCH], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=metas[i : i + _ADD_BATCH],
            )

    def delete_source(self, source: str) -> None:
        self.collection.delete(where={"source": source})

    def count(self) -> int:
        with self._reading():
            return self.collection.count()

    def query(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[Hit]:
        with self._reading():
            n = min(k, self.collection.count())
            if n == 0:
                return []
            result = self.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=n,
                where=where_clause(filters),
                include=["documents", "metadatas", "distances"],
            )
        return _hits(result)

    def query_scores(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the k nearest passages: ids and distances only, so a search
        does not carry every passage's stored units back from Chroma."""
        with self._reading():
            n = min(k, self.collection.count())
            if n == 0:
                return []
            result = self.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=n,
                where=where_clause(filters), include=["distances"],
            )
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0])]

    def _reading(self):
        """Chroma's own errors (an unreachable server, damaged files) become one StoreError naming the fix."""
        return _store_errors(lambda e: f"Reading index build {self.build_id} failed ({type(e).__name__}: {e}); if "
                             "the index lives on a Chroma server, check that `chroma run` is up, else run "
                             "`assistant index --rebuild`.")

    def all_records(self, batch: int = 1000, include_embeddings: bool = True) -> Iterator[dict]:
        """Every record (with its embedding unless told otherwise), in pages: to copy a build on a server
        and to build the lexical index."""
        include = ["documents", "metadatas", "embeddings"] if include_embeddings else ["documents", "metadatas"]
        offset = 0
        while True:
            with self._reading():
                page = self.collection.get(limit=batch, offset=offset, include=include)
            if not page["ids"]:
                return
            yield page
            offset += len(page["ids"])

    # What the build stores besides its passages (see the module docstring); None when it has none
    # (a build made before these were stored).

    def documents(self) -> dict[str, Document] | None:
        """The cleaned documents of this build by document id, or None for a build that stores none."""
        if self.store is None:
            return None
        return self.store.load_documents(self)

    def search_index(self) -> dict[str, BinaryIO] | None:
        """The persisted search index's blobs (name -> readable binary file), or None when it has none.
        Raises StoreError when it is there but damaged."""
        if self.store is None:
            return None
        return self.store.load_search_index(self)


def document_to_json(doc: Document) -> str:
    return json.dumps(dataclasses.asdict(doc), ensure_ascii=False, sort_keys=True)


def document_from_json(raw: str) -> Document:
    """A stored document; fields this version does not know are ignored, missing ones raise TypeError."""
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not isinstance(data.get("meta", {}), dict):
        raise ValueError("not a stored document")
    names = {f.name for f in dataclasses.fields(Document)}
    return Document(**{k: v for k, v in data.items() if k in names})


def _documents_by_id(docs: Iterable[Document]) -> dict[str, Document]:
    return {d.id: d for d in sorted(docs, key=lambda d: d.source)}


class Store:
    """Where builds live. Use `open_store(settings)` to get the right kind."""

    location: str

    def current_build_id(self) -> str | None: ...
    def open_build(self, build_id: str) -> Build: ...
    def read_manifest(self, build_id: str) -> Manifest: ...  # without opening the build's Chroma collection
    def create_build(self, copy_from: str | None) -> Build: ...
    def save_manifest(self, build: Build, manifest: Manifest) -> None: ...
    def activate(self, build: Build) -> None: ...
    def discard(self, build_id: str) -> None: ...
    def build_ids(self) -> list[str]: ...
    def complete_build_ids(self) -> list[str]: ...  # builds with a manifest (finished writing)
    def save_documents(self, build: Build, documents: Iterable[Document]) -> None: ...
    def load_documents(self, build: Build) -> dict[str, Document] | None: ...
    def has_documents(self, build: Build) -> bool: ...
    def save_search_index(self, build: Build, blobs: dict[str, bytes]) -> None: ...
    def load_search_index(self, build: Build) -> dict[str, BinaryIO] | None: ...
    def has_search_index(self, build: Build) -> bool: ...
    def close(self) -> None: ...

    _lock_depth = 0

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1

    def heartbeat(self) -> None:
        """A sign of life from the indexer holding the writer lock (long builds call it per batch)."""

    @property
    def locked(self) -> bool:
        """Whether this store object holds the writer lock."""
        return self._lock_depth > 0

    def open_current(self) -> Build:
        build_id = self.current_build_id()
        if build_id is None:
            raise IndexMissingError(f"No index yet at {self.location}; run `assistant index` to build it.")
        return self.open_build(build_id)

    def prune(self) -> None:
        """Delete every build but the live one and the KEEP_PREVIOUS_BUILDS newest complete builds before it.

        Only complete builds (with a manifest) count as previous builds; incomplete ones (an indexer that
        crashed or was killed) are removed. Needs the writer lock, so no other indexer is writing a build.
        """
        if not self.locked:
            raise StoreError("Pruning index builds needs the writer lock (another indexer may be writing one).")
        current = self.current_build_id()
        builds = self.build_ids()
        complete = set(self.complete_build_ids())
        previous = sorted((b for b in builds if b in complete and b != current and (current is None or b < current)),
                          reverse=True)[:KEEP_PREVIOUS_BUILDS]
        keep = set(previous) | ({current} if current else set())
        for build_id in builds:  # older ones, incomplete ones, and complete ones never activated (newer)
            if build_id not in keep:
                self.discard(build_id)
        self._discard_orphans(keep)

    def _discard_orphans(self, keep: set[str]) -> None:
        """Remove what belongs to no build any more (e.g. a server's document collection of a deleted build)."""


class PersistentStore(Store):
    """Builds as folders under index/builds/, the live one named in index/CURRENT.

    One Chroma client per build folder, shared by the builds opened from this store object and closed
    when the last of them is closed (`Build.close()`), when the build is discarded, or with `close()`.
    """

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.builds_dir = self.index_dir / "builds"
        self.pointer = self.index_dir / "CURRENT"
        self.location = str(self.index_dir)
        self._clients: dict[str, list] = {}  # build id -> [client, leases]
        self._clients_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_clients, self._clients, self._clients_lock)

    def _open_client(self, build_id: str):
        import chromadb

        path = self.builds_dir / build_id
        try:
            if path.is_dir() and not _writable(path):
                return self._open_read_only_copy(build_id, path)
            return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(
                f"Cannot open the index build at {path} ({type(e).__name__}: {e}); "
                "run `assistant index --rebuild`."
            ) from e

    def _open_read_only_copy(self, build_id: str, path: Path):
        """Chroma writes to its database even to read it, so a build on a read-only disk (an index baked
        into an image, a read-only mount) is served from a private temporary copy, removed with its client."""
        import tempfile

        import chromadb

        copy = Path(tempfile.mkdtemp(prefix=f"wegwijzer-{build_id[:20]}-"))
        try:
            shutil.copytree(path, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("search"))
            client = chromadb.PersistentClient(path=str(copy), settings=_chroma_settings())
        except OSError as e:
            shutil.rmtree(copy, ignore_errors=True)
            if is_disk_full(e):
                raise disk_full_error(e, f"the temporary folder ({copy.parent})") from e
            raise StoreError(f"The index build at {path} is read-only and cannot be copied to {copy.parent} "
                             f"({e.strerror or e}); make {path} writable or set TMPDIR to a writable folder.") from e
        except BaseException:
            shutil.rmtree(copy, ignore_errors=True)
            raise
        weakref.finalize(client, shutil.rmtree, str(copy), True)
        logger.warning("index build %s is on a read-only disk: serving it from a temporary copy in %s", build_id, copy)
        return client

    def _acquire(self, build_id: str):
        """The build's client, with one more lease on it."""
        with self._clients_lock:
            entry = self._clients.get(build_id)
            if entry is None:
                entry = self._clients[build_id] = [self._open_client(build_id), 0]
            entry[1] += 1
            return entry[0]

    def _return(self, build_id: str, client) -> None:
        """Give back one lease on the build's client; the last one closes it."""
        with self._clients_lock:
            entry = self._clients.get(build_id)
            if entry is None or entry[0] is not client:  # closed already (discarded, or the store closed)
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del self._clients[build_id]
        with contextlib.suppress(Exception):
            client.close()

    def _release(self, build_id: str) -> None:
        """Close the build's client now, whoever holds it (the build is being deleted)."""
        with self._clients_lock:
            entry = self._clients.pop(build_id, None)
        if entry is not None:
            with contextlib.suppress(Exception):
                entry[0].close()

    def open_clients(self) -> dict[str, int]:
        """Build id -> leases, of the Chroma clients this store holds open (for tests and diagnostics)."""
        with self._clients_lock:
            return {b: e[1] for b, e in self._clients.items()}

    def close(self) -> None:
        """Close every Chroma client of this store (builds opened from it cannot be used afterwards)."""
        _close_clients(self._clients, self._clients_lock)

    def _build(self, build_id: str, manifest: Manifest | None, create: bool = False) -> Build:
        path = self.builds_dir / build_id

        def opener(lease: _Lease):
            client = self._acquire(build_id)
            lease.release_fn = lambda: self._return(build_id, client)
            try:
                if create:
                    return client.get_or_create_collection(
                        COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
                return client.get_collection(COLLECTION)
            except Exception as e:
                lease.release()
                raise StoreError(
                    f"The index at {path} is damaged ({type(e).__name__}: {e}); run `assistant index --rebuild`."
                ) from e

        return Build(build_id, None, manifest, opener=opener, store=self)

    def current_build_id(self) -> str | None:
        try:
            build_id = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"Cannot read {self.pointer} ({e.strerror}); check the index folder's permissions.") from e
        except UnicodeDecodeError as e:
            raise StoreError(f"The index at {self.index_dir} is damaged: {self.pointer.name} is not text; "
                             "run `assistant index --rebuild`.") from e
        if not build_id or not (self.builds_dir / build_id / "manifest.json").is_file():
            raise StoreError(
                f"The index at {self.index_dir} is damaged: {self.pointer.name} names build {build_id!r}, "
                "which is missing; run `assistant index --rebuild`."
            )
        return build_id

    def read_manifest(self, build_id: str) -> Manifest:
        path = self.builds_dir / build_id / "manifest.json"
        try:
            return Manifest.from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as e:
            raise StoreError(
                f"The index manifest at {path} cannot be read ({e}); run `assistant index --rebuild`."
            ) from e

    def open_build(self, build_id: str) -> Build:
        """The build with its manifest; its Chroma collection is opened on first use."""
        return self._build(build_id, self.read_manifest(build_id))

    def create_build(self, copy_from: str | None) -> Build:
        build_id = new_build_id()
        path = self.builds_dir / build_id
        try:
            self.builds_dir.mkdir(parents=True, exist_ok=True)
            if copy_from is not None:
                shutil.copytree(self.builds_dir / copy_from, path)
                (path / "manifest.json").unlink()
                # What describes the old build's content is rewritten for the new one.
                shutil.rmtree(path / SEARCH_DIR, ignore_errors=True)
                (path / DOCUMENTS_FILE).unlink(missing_ok=True)
            build = self._build(build_id, None, create=True)
            build.collection  # noqa: B018 - create the collection now
        except OSError as e:
            self._release(build_id)
            shutil.rmtree(path, ignore_errors=True)
            raise StoreError(f"Cannot write a new index build under {self.builds_dir} ({e.strerror or e}); "
                             "free disk space or fix the folder's permissions, then retry.") from e
        except BaseException:
            self._release(build_id)
            shutil.rmtree(path, ignore_errors=True)
            raise
        return build

    def save_manifest(self, build: Build, manifest: Manifest) -> None:
        path = self.builds_dir / build.build_id / "manifest.json"
        _atomic_write(path, manifest.to_json())
        build.manifest = manifest

    def activate(self, build: Build) -> None:
        _atomic_write(self.pointer, build.build_id + "\n")

    def discard(self, build_id: str) -> None:
        self._release(build_id)
        shutil.rmtree(self.builds_dir / build_id, ignore_errors=True)

    def build_ids(self) -> list[str]:
        if not self.builds_dir.is_dir():
            return []
        return sorted(p.name for p in self.builds_dir.iterdir() if p.is_dir())

    def complete_build_ids(self) -> list[str]:
        return [b for b in self.build_ids() if (self.builds_dir / b / "manifest.json").is_file()]

    def save_documents(self, build: Build, documents: Iterable[Document]) -> None:
        lines = [document_to_json(d) for d in sorted(documents, key=lambda d: d.source)]
        _atomic_write(self.builds_dir / build.build_id / DOCUMENTS_FILE, "".join(line + "\n" for line in lines))

    def has_documents(self, build: Build) -> bool:
        return (self.builds_dir / build.build_id / DOCUMENTS_FILE).is_file()

    def load_documents(self, build: Build) -> dict[str, Document] | None:
        path = self.builds_dir / build.build_id / DOCUMENTS_FILE
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"The stored documents at {path} cannot be read ({e}); run `assistant index --rebuild`.") from e
        try:
            return _documents_by_id(document_from_json(line) for line in raw.splitlines() if line.strip())
        except (ValueError, TypeError) as e:
            raise StoreError(f"The stored documents at {path} are damaged ({e}); run `assistant index --rebuild`.") from e

    def save_search_index(self, build: Build, blobs: dict[str, bytes]) -> None:
        folder = self.builds_dir / build.build_id / SEARCH_DIR
        shutil.rmtree(folder, ignore_errors=True)
        try:
            folder.mkdir(parents=True)
            entries = {}
            for name, data in blobs.items():
                _check_blob_name(name)
                _atomic_write_bytes(folder / name, data)
                entries[name] = {"size": len(data)}
        except OSError as e:
            raise StoreError(f"Cannot write the search index under {folder} ({e.strerror or e}); "
                             "free disk space or fix the folder's permissions, then retry.") from e
        _atomic_write(folder / SEARCH_INDEX_FILE, json.dumps(
            {"format": SEARCH_INDEX_FORMAT, "build_id": build.build_id, "blobs": entries}, sort_keys=True))

    def has_search_index(self, build: Build) -> bool:
        return (self.builds_dir / build.build_id / SEARCH_DIR / SEARCH_INDEX_FILE).is_file()

    def load_search_index(self, build: Build) -> dict[str, BinaryIO] | None:
        folder = self.builds_dir / build.build_id / SEARCH_DIR
        try:
            raw = (folder / SEARCH_INDEX_FILE).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"The search index at {folder} cannot be read ({e}).") from e
        entries = _check_search_index(raw, build.build_id, folder)
        files: dict[str, BinaryIO] = {}
        try:
            for name, entry in entries.items():
                _check_blob_name(name)
                path = folder / name
                if path.stat().st_size != entry["size"]:
                    raise StoreError(f"The search index file {path} has {path.stat().st_size} bytes, "
                                     f"not the {entry['size']} written.")
                files[name] = open(path, "rb")
        except OSError as e:
            for fh in files.values():
                fh.close()
            raise StoreError(f"The search index at {folder} cannot be read ({e}).") from e
        except StoreError:
            for fh in files.values():
                fh.close()
            raise
        return files

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One indexer at a time per index folder (an advisory lock, released if the process dies)."""
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            handle = open(self.index_dir / ".lock", "w")
        except OSError as e:
            raise StoreError(f"Cannot write to the index folder {self.index_dir} ({e.strerror}); "
                             "fix its permissions or set ASSISTANT_INDEX_DIR.") from e
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise StoreError(f"Another `assistant index` is running on {self.index_dir}; wait for it to finish.") from e
            with super().writer_lock():
                yield


def _close_clients(clients: dict[str, list], lock: threading.Lock) -> None:
    with lock:
        entries = list(clients.values())
        clients.clear()
    for client, _ in entries:
        with contextlib.suppress(Exception):
            client.close()


def _check_blob_name(name: str) -> None:
    if not re.fullmatch(r"[a-z0-9_]+\.npz", name):
        raise StoreError(f"Bad search index file name {name!r}.")


def _check_search_index(raw: str, build_id: str, where: object) -> dict[str, dict]:
    """The blob entries of a search index marker, after checking its format and build."""
    try:
        index = json.loads(raw)
        entries = index["blobs"]
        ok = index.get("format") == SEARCH_INDEX_FORMAT and index.get("build_id") == build_id and isinstance(entries, dict)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise StoreError(f"The search index marker at {where} is damaged ({e}).") from e
    if not ok:
        raise StoreError(f"The search index at {where} is of another format or build "
                         f"(format {index.get('format')!r}, build {index.get('build_id')!r}).")
    return entries


class ServerStore(Store):
    """Builds as collections on a `chroma run` server; a pointer collection names the live one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = url
        self._client_obj = None
        self._client_lock = threading.Lock()
        self._holder: dict[str, str] = {}  # the writer lock we hold: {"holder": token}
        self._finalizer = None

    def _client(self):
        with self._client_lock:
            if self._client_obj is None:
                import chromadb

                parsed = urlparse(self.url)
                try:
                    self._client_obj = chromadb.HttpClient(
                        host=parsed.hostname or "localhost",
                        port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                        ssl=parsed.scheme == "https",
                        settings=_chroma_settings(),
                    )
                except Exception as e:
                    raise StoreError(f"Cannot reach the Chroma server at {self.url} ({type(e).__name__}); "
                                     "start it (`chroma run`) or unset ASSISTANT_CHROMA_URL.") from e
                self._finalizer = weakref.finalize(self, _close_quietly, self._client_obj)
            return self._client_obj

    def close(self) -> None:
        """Close the HTTP client (its connections); a later call opens a new one."""
        with self._client_lock:
            client, self._client_obj = self._client_obj, None
            finalizer, self._finalizer = self._finalizer, None
        if finalizer is not None:
            finalizer.detach()
        _close_quietly(client)

    def _calls(self):
        return _store_errors(lambda e: f"The Chroma server at {self.url} failed ({type(e).__name__}: {e}); "
                             "check that `chroma run` is up.")

    def _collections(self) -> dict[str, dict]:
        """Name -> metadata of every collection on the server."""
        with self._calls():
            return {c.name if hasattr(c, "name") else str(c): (getattr(c, "metadata", None) or {})
                    for c in self._client().list_collections()}

    def _get_collection(self, name: str):
        """The named collection, or None when the server has none of that name."""
        with self._calls():
            if name not in self._collections():
                return None
            return self._client().get_collection(name)

    def current_build_id(self) -> str | None:
        with self._calls():
            names = self._collections()
            if SERVER_POINTER not in names:
                return None
            build_id = (self._client().get_collection(SERVER_POINTER).metadata or {}).get("build_id")
        return build_id or None

    def open_build(self, build_id: str) -> Build:
        with self._calls():
            collection = self._client().get_collection(SERVER_PREFIX + build_id)
            manifest = Manifest.from_json((collection.metadata or {})["manifest"])
        return Build(build_id, collection, manifest, store=self)

    def read_manifest(self, build_id: str) -> Manifest:
        return self.open_build(build_id).manifest

    def create_build(self, copy_from: str | None) -> Build:
        build_id = new_build_id()
        with self._calls():
            collection = self._client().create_collection(
                SERVER_PREFIX + build_id,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
                metadata={"building": True},
            )
            build = Build(build_id, collection, None, store=self)
            if copy_from is not None:
                for page in self.open_build(copy_from).all_records():
                    collection.add(ids=page["ids"], embeddings=page["embeddings"],
                                   documents=page["documents"], metadatas=page["metadatas"])
                    self.heartbeat()
        return build

    def save_manifest(self, build: Build, manifest: Manifest) -> None:
        with self._calls():
            build.collection.modify(metadata={"manifest": manifest.to_json()})
        build.manifest = manifest

    def activate(self, build: Build) -> None:
        with self._calls():
            pointer = self._client().get_or_create_collection(SERVER_POINTER, embedding_function=None)
            pointer.modify(metadata={"build_id": build.build_id})

    def discard(self, build_id: str) -> None:
        """Delete the build's collection and every collection that belongs to it (documents, search index)."""
        for name in self._aux_collections(build_id) + [SERVER_PREFIX + build_id]:
            self._delete_collection(name)

    def _aux_collections(self, build_id: str, suffix: str = "") -> list[str]:
        """The build's other collections (`wegwijzer-<build_id>-...`), those starting with `suffix` if given."""
        start = SERVER_PREFIX + build_id + (suffix or "-")
        return sorted(n for n in self._collections() if n.startswith(start) and _AUX_NAME.match(n))

    def _delete_collection(self, name: str) -> None:
        with self._calls(), contextlib.suppress(Exception):
            self._client().delete_collection(name)

    def build_ids(self) -> list[str]:
        return sorted(n[len(SERVER_PREFIX):] for n in self._collections()
                      if n.startswith(SERVER_PREFIX) and _BUILD_ID.match(n[len(SERVER_PREFIX):]))

    def complete_build_ids(self) -> list[str]:
        collections = self._collections()
        return [b for b in self.build_ids() if "manifest" in collections.get(SERVER_PREFIX + b, {})]

    def _discard_orphans(self, keep: set[str]) -> None:
        builds = set(self.build_ids())
        for name in self._collections():
            match = _AUX_NAME.match(name)
            if match and match.group(1) not in builds:
                self._delete_collection(name)

    # The writer lock: a collection that only one indexer can create.

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One indexer at a time per Chroma server: the lock collection `wegwijzer-lock`, created by the
        indexer that holds it (creating fails while it exists) and refreshed by `heartbeat()`; a lock
        without a sign of life for LOCK_STALE_SECONDS is taken over (its indexer died)."""
        token = uuid.uuid4().hex
        self._take_lock(token)
        self._holder = {"holder": token}
        try:
            with super().writer_lock():
                yield
        finally:
            self._holder = {}
            with contextlib.suppress(StoreError):
                if (self._lock_metadata() or {}).get("holder") == token:
                    self._delete_collection(SERVER_LOCK)

    def _lock_metadata(self) -> dict | None:
        collection = self._get_collection(SERVER_LOCK)
        return None if collection is None else dict(collection.metadata or {})

    def _lock_record(self, token: str) -> dict:
        return {"holder": token, "host": socket.gethostname(), "pid": os.getpid(), "heartbeat": time.time()}

    def _take_lock(self, token: str) -> None:
        for _ in range(3):
            with self._calls():
                try:
                    self._client().create_collection(SERVER_LOCK, embedding_function=None,
                                                     metadata=self._lock_record(token))
                    return
                except Exception as e:  # it exists (or the server failed: then reading it fails too)
                    held = self._lock_metadata()
                    if held is None:
                        continue  # released meanwhile
                    silent = time.time() - float(held.get("heartbeat") or 0)
                    if silent < LOCK_STALE_SECONDS:
                        raise StoreError(
                            f"Another `assistant index` is running on {self.url} (host {held.get('host')}, "
                            f"process {held.get('pid')}, last sign of life {silent:.0f} s ago); wait for it to finish."
                        ) from e
                    logger.warning("taking over the index writer lock on %s: its holder (host %s, process %s) "
                                   "showed no sign of life for %.0f s", self.url, held.get("host"), held.get("pid"), silent)
                    self._delete_collection(SERVER_LOCK)
        raise StoreError(f"Cannot take the index writer lock on {self.url}; retry.")

    def heartbeat(self) -> None:
        token = self._holder.get("holder")
        if token:
            with self._calls():
                lock = self._client().get_collection(SERVER_LOCK)
                if (lock.metadata or {}).get("holder") != token:
                    raise StoreError(f"Lost the index writer lock on {self.url} to another indexer; run `assistant index` again.")
                lock.modify(metadata=self._lock_record(token))

    # Documents and the search index: collections beside the build's own.

    def save_documents(self, build: Build, documents: Iterable[Document]) -> None:
        name = SERVER_PREFIX + build.build_id + DOCS_SUFFIX
        self._delete_collection(name)
        docs = sorted(documents, key=lambda d: d.source)
        with self._calls():
            collection = self._client().create_collection(name, embedding_function=None,
                                                          metadata={"documents": "writing"})
            for i in range(0, len(docs), 64):
                part = docs[i : i + 64]
                collection.add(ids=[d.source for d in part], embeddings=[[0.0]] * len(part),
                               metadatas=[{"document": document_to_json(d)} for d in part])
            collection.modify(metadata={"documents": "complete", "count": len(docs)})

    def has_documents(self, build: Build) -> bool:
        meta = self._collections().get(SERVER_PREFIX + build.build_id + DOCS_SUFFIX)
        return meta is not None and meta.get("documents") == "complete"

    def load_documents(self, build: Build) -> dict[str, Document] | None:
        if not self.has_documents(build):  # none, or a write that did not finish
            return None
        collection = self._get_collection(SERVER_PREFIX + build.build_id + DOCS_SUFFIX)
        if collection is None:
            return None
        docs, offset = [], 0
        while True:
            with self._calls():
                page = collection.get(limit=100, offset=offset, include=["metadatas"])
            if not page["ids"]:
                break
            try:
                docs += [document_from_json((m or {})["document"]) for m in page["metadatas"]]
            except (ValueError, TypeError, KeyError) as e:
                raise StoreError(f"The stored documents of build {build.build_id} on {self.url} are damaged ({e}); "
                                 "run `assistant index --rebuild`.") from e
            offset += len(page["ids"])
        if len(docs) != (collection.metadata or {}).get("count"):
            raise StoreError(f"The stored documents of build {build.build_id} on {self.url} are incomplete; "
                             "run `assistant index --rebuild`.")
        return _documents_by_id(docs)

    def save_search_index(self, build: Build, blobs: dict[str, bytes]) -> None:
        """The blobs as base64 pieces in record metadata (documents would be full-text indexed), spread over
        shard collections `wegwijzer-<build_id>-search-NNNN`; then the marker record `index` in
        `wegwijzer-<build_id>-search` (sizes, SHA-256, where the pieces are), written last."""
        marker_name = SERVER_PREFIX + build.build_id + SEARCH_SUFFIX
        for name in self._aux_collections(build.build_id, SEARCH_SUFFIX):
            self._delete_collection(name)
        entries = {}
        piece_no = 0
        shard = None
        with self._calls():
            marker = self._client().create_collection(marker_name, embedding_function=None)
            for blob_name, data in blobs.items():
                _check_blob_name(blob_name)
                pieces = [data[i : i + _BLOB_PIECE] for i in range(0, len(data), _BLOB_PIECE)] or [b""]
                entries[blob_name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                      "first": piece_no, "pieces": len(pieces)}
                for piece in pieces:
                    if piece_no % _PIECES_PER_SHARD == 0:
                        shard = self._client().create_collection(
                            _shard_name(build.build_id, piece_no // _PIECES_PER_SHARD), embedding_function=None)
                    shard.add(ids=[f"piece-{piece_no:06d}"], embeddings=[[0.0]],
                              metadatas=[{"piece": base64.b64encode(piece).decode("ascii")}])
                    piece_no += 1
                    self.heartbeat()
            marker.add(ids=["index"], embeddings=[[0.0]], metadatas=[{"index": json.dumps(
                {"format": SEARCH_INDEX_FORMAT, "build_id": build.build_id, "blobs": entries}, sort_keys=True)}])

    def _search_marker(self, build: Build) -> str | None:
        collection = self._get_collection(SERVER_PREFIX + build.build_id + SEARCH_SUFFIX)
        if collection is None:
            return None
        with self._calls():
            got = collection.get(ids=["index"], include=["metadatas"])
        if not got["ids"]:
            return None
        return (got["metadatas"][0] or {}).get("index", "")

    def has_search_index(self, build: Build) -> bool:
        return self._search_marker(build) is not None

    def load_search_index(self, build: Build) -> dict[str, BinaryIO] | None:
        raw = self._search_marker(build)
        if raw is None:
            return None
        where = f"{self.url} ({SERVER_PREFIX}{build.build_id}{SEARCH_SUFFIX})"
        shards: dict[int, Any] = {}
        files: dict[str, BinaryIO] = {}
        for name, entry in _check_search_index(raw, build.build_id, where).items():
            _check_blob_name(name)
            try:
                numbers = range(int(entry["first"]), int(entry["first"]) + int(entry["pieces"]))
                data = bytearray()
                for k in sorted({n // _PIECES_PER_SHARD for n in numbers}):
                    wanted = [n for n in numbers if n // _PIECES_PER_SHARD == k]
                    with self._calls():
                        if k not in shards:
                            shards[k] = self._client().get_collection(_shard_name(build.build_id, k))
                        got = shards[k].get(ids=[f"piece-{n:06d}" for n in wanted], include=["metadatas"])
                    pieces = dict(zip(got["ids"], got["metadatas"]))
                    for n in wanted:
                        data += base64.b64decode(pieces[f"piece-{n:06d}"]["piece"], validate=True)
                ok = len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
            except (KeyError, TypeError, ValueError) as e:
                raise StoreError(f"The search index on {where} is damaged ({type(e).__name__}: {e}).") from e
            if not ok:
                raise StoreError(f"The search index on {where} is damaged ({name}: size or checksum differs).")
            files[name] = io.BytesIO(bytes(data))
        return files


def _shard_name(build_id: str, k: int) -> str:
    return f"{SERVER_PREFIX}{build_id}{SEARCH_SUFFIX}-{k:04d}"


def _close_quietly(client) -> None:
    """Close a Chroma client; for an HTTP client also its connection pool, which closing the client leaves
    open (chromadb's HTTP API has no stop() of its own: its sockets would wait for the garbage collector)."""
    if client is None:
        return
    # The client and its admin client (a System of its own for an HTTP client) each have a session.
    sessions = [getattr(getattr(c, "_server", None), "_session", None)
                for c in (client, getattr(client, "_admin_client", None))]
    with contextlib.suppress(Exception):
        client.close()
    for session in sessions:
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()


def open_store(index_dir: Path, chroma_url: str | None) -> Store:
    return ServerStore(chroma_url) if chroma_url else PersistentStore(index_dir)


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"Cannot write {path} ({e.strerror}); free disk space or fix the folder's permissions.") from e


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
