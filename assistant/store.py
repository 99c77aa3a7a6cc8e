"""The Chroma store: builds, manifest, atomic activation.

An index is a sequence of *builds*. Every change (incremental or full) is written into a new
build beside the live one and then activated in one atomic step, so a crash at any point leaves
the previous build serving.

- Embedded (default): `index/builds/<build_id>/` is a Chroma PersistentClient folder holding the
  collection and `manifest.json`; `index/CURRENT` names the live build and is replaced with
  os.replace (atomic on POSIX).
- Server (`chroma_url` set): each build is a collection `wegwijzer-<build_id>` with the manifest
  in its metadata; the collection `wegwijzer-current` names the live build in its metadata.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from assistant.errors import IndexMissingError, StoreError
from assistant.models import Chunk, Filters, Hit

MANIFEST_FORMAT = 1
COLLECTION = "chunks"
SERVER_PREFIX = "wegwijzer-"
SERVER_POINTER = "wegwijzer-current"
KEEP_PREVIOUS_BUILDS = 1  # processes that opened the previous build keep working until they reload
_ADD_BATCH = 256


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
        if data.get("format") != MANIFEST_FORMAT:
            raise StoreError(
                f"Index manifest format {data.get('format')!r} is not supported by this version; "
                "run `assistant index --rebuild`."
            )
        return cls(**data)


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
    """Turn any third-party exception into a StoreError with the message `describe(e)` (cause kept)."""
    try:
        yield
    except (StoreError, IndexMissingError):
        raise
    except Exception as e:
        raise StoreError(describe(e)) from e


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


class Build:
    """One build's Chroma collection plus its manifest."""

    def __init__(self, build_id: str, collection, manifest: Manifest | None) -> None:
        self.build_id = build_id
        self.collection = collection
        self.manifest = manifest

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


class Store:
    """Where builds live. Use `open_store(settings)` to get the right kind."""

    location: str

    def current_build_id(self) -> str | None: ...
    def open_build(self, build_id: str) -> Build: ...
    def create_build(self, copy_from: str | None) -> Build: ...
    def save_manifest(self, build: Build, manifest: Manifest) -> None: ...
    def activate(self, build: Build) -> None: ...
    def discard(self, build_id: str) -> None: ...
    def build_ids(self) -> list[str]: ...

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        yield

    def open_current(self) -> Build:
        build_id = self.current_build_id()
        if build_id is None:
            raise IndexMissingError(f"No index yet at {self.location}; run `assistant index` to build it.")
        return self.open_build(build_id)

    def prune(self) -> None:
        """Delete builds other than the live one and the KEEP_PREVIOUS_BUILDS newest before it."""
        current = self.current_build_id()
        older = sorted((b for b in self.build_ids() if current is None or b < current), reverse=True)
        newer = [b for b in self.build_ids() if current is not None and b > current]
        for build_id in older[KEEP_PREVIOUS_BUILDS:] + newer:  # newer = leftovers of crashed builds
            self.discard(build_id)


class PersistentStore(Store):
    """Builds as folders under index/builds/, the live one named in index/CURRENT."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = Path(index_dir)
        self.builds_dir = self.index_dir / "builds"
        self.pointer = self.index_dir / "CURRENT"
        self.location = str(self.index_dir)
        self._clients: dict[str, Any] = {}

    def _client(self, build_id: str):
        import chromadb

        if build_id not in self._clients:
            path = self.builds_dir / build_id
            try:
                self._clients[build_id] = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
            except Exception as e:
                raise StoreError(
                    f"Cannot open the index build at {path} ({type(e).__name__}: {e}); "
                    "run `assistant index --rebuild`."
                ) from e
        return self._clients[build_id]

    def _release(self, build_id: str) -> None:
        client = self._clients.pop(build_id, None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def current_build_id(self) -> str | None:
        try:
            build_id = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise StoreError(f"Cannot read {self.pointer} ({e.strerror}); check the index folder's permissions.") from e
        if not build_id or not (self.builds_dir / build_id / "manifest.json").is_file():
            raise StoreError(
                f"The index at {self.index_dir} is damaged: {self.pointer.name} names build {build_id!r}, "
                "which is missing; run `assistant index --rebuild`."
            )
        return build_id

    def open_build(self, build_id: str) -> Build:
        path = self.builds_dir / build_id
        try:
            manifest = Manifest.from_json((path / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError) as e:
            raise StoreError(
                f"The index manifest at {path / 'manifest.json'} cannot be read ({e}); run `assistant index --rebuild`."
            ) from e
        try:
            collection = self._client(build_id).get_collection(COLLECTION)
        except StoreError:
            raise
        except Exception as e:
            raise StoreError(
                f"The index at {path} is damaged ({type(e).__name__}: {e}); run `assistant index --rebuild`."
            ) from e
        return Build(build_id, collection, manifest)

    def create_build(self, copy_from: str | None) -> Build:
        build_id = new_build_id()
        path = self.builds_dir / build_id
        try:
            self.builds_dir.mkdir(parents=True, exist_ok=True)
            if copy_from is not None:
                self._release(copy_from)
                shutil.copytree(self.builds_dir / copy_from, path)
                (path / "manifest.json").unlink()
            client = self._client(build_id)
            collection = client.get_or_create_collection(
                COLLECTION, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        except OSError as e:
            shutil.rmtree(path, ignore_errors=True)
            raise StoreError(f"Cannot write a new index build under {self.builds_dir} ({e.strerror or e}); "
                             "free disk space or fix the folder's permissions, then retry.") from e
        return Build(build_id, collection, None)

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
            yield


class ServerStore(Store):
    """Builds as collections on a `chroma run` server; a pointer collection names the live one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.location = url
        self._client_obj = None

    def _client(self):
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
        return self._client_obj

    def _calls(self):
        return _store_errors(lambda e: f"The Chroma server at {self.url} failed ({type(e).__name__}: {e}); "
                             "check that `chroma run` is up.")

    def current_build_id(self) -> str | None:
        with self._calls():
            names = {c.name if hasattr(c, "name") else str(c) for c in self._client().list_collections()}
            if SERVER_POINTER not in names:
                return None
            build_id = (self._client().get_collection(SERVER_POINTER).metadata or {}).get("build_id")
        return build_id or None

    def open_build(self, build_id: str) -> Build:
        with self._calls():
            collection = self._client().get_collection(SERVER_PREFIX + build_id)
            manifest = Manifest.from_json((collection.metadata or {})["manifest"])
        return Build(build_id, collection, manifest)

    def create_build(self, copy_from: str | None) -> Build:
        build_id = new_build_id()
        with self._calls():
            collection = self._client().create_collection(
                SERVER_PREFIX + build_id,
                configuration={"hnsw": {"space": "cosine"}},
                embedding_function=None,
                metadata={"building": True},
            )
            build = Build(build_id, collection, None)
            if copy_from is not None:
                for page in self.open_build(copy_from).all_records():
                    collection.add(ids=page["ids"], embeddings=page["embeddings"],
                                   documents=page["documents"], metadatas=page["metadatas"])
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
        with self._calls(), contextlib.suppress(Exception):
            self._client().delete_collection(SERVER_PREFIX + build_id)

    def build_ids(self) -> list[str]:
        with self._calls():
            names = [c.name if hasattr(c, "name") else str(c) for c in self._client().list_collections()]
        return sorted(n[len(SERVER_PREFIX):] for n in names if n.startswith(SERVER_PREFIX) and n != SERVER_POINTER)


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
