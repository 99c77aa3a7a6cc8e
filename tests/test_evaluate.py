"""The evaluation harness: gold-file validation, evidence matching, metrics."""

import json

import pytest

from assistant.errors import GoldSetError
from assistant.evaluate import QuestionResult, evidence_rank, load_gold, metrics, normalize, percentile
from assistant.models import Hit


def _hit(cid: str, text: str) -> Hit:
    return Hit(chunk_id=cid, doc_id="d", title="t", kind="artikel", section="", text=text, score=1.0, start=0, end=len(text))


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_load_gold_reads_fields_and_keeps_extras(tmp_path):
    path = _write(tmp_path / "g.jsonl", [
        {"id": "a", "question": "Waar begin ik?", "evidence": ["Begin klein"], "type": "start"},
        "",
        {"question": "En daar?", "history": ["Wat deed Aldowa?"], "evidence": ["65 mensen"], "expect_refusal": False},
        {"question": "Wat is de hoofdstad van Frankrijk?", "expect_refusal": True},
    ])
    gold = load_gold(path)
    assert [g.id for g in gold] == ["a", "line3", "line4"]
    assert gold[0].extra == {"type": "start"} and gold[1].history == ("Wat deed Aldowa?",)
    assert gold[2].expect_refusal and gold[2].evidence == ()


@pytest.mark.parametrize("line,message", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"question": ""}', '"question" must be a non-empty string'),
    ('{"question": "q", "evidence": "one string"}', '"evidence" must be a list'),
    ('{"question": "q", "evidence": []}', "at least one"),
    ('{"question": "q", "evidence": ["x"], "history": "earlier"}', '"history" must be a list'),
    ('{"question": "q", "evidence": ["x"], "expect_refusal": "no"}', "true or false"),
])
def test_bad_gold_lines_name_the_line_and_the_fix(tmp_path, line, message):
    path = _write(tmp_path / "g.jsonl", ['{"question": "ok", "evidence": ["x"]}', line])
    with pytest.raises(GoldSetError, match=message) as info:
        load_gold(path)
    assert "g.jsonl:2" in str(info.value)


def test_missing_or_empty_gold_file(tmp_path):
    with pytest.raises(GoldSetError, match="does not exist"):
        load_gold(tmp_path / "nope.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(GoldSetError, match="no questions"):
        load_gold(tmp_path / "empty.jsonl")


def test_evidence_is_matched_case_and_punctuation_insensitively():
    assert normalize("“Begin  klein!”, zegt ze.") == "begin klein zegt ze"
    hits = [_hit("1", "Iets anders."), _hit("2", "Hun advies: begin KLEIN, met één afdeling.")]
    assert evidence_rank(hits, ["Begin klein met één afdeling"]) == 2
    assert evidence_rank(hits, ["niet aanwezig", "iets anders"]) == 1
    assert evidence_rank(hits, ["begin groot"]) is None


def test_metrics_count_in_scope_questions_only():
    def result(rank, refusal=False, latency=10.0):
        return QuestionResult(id="x", question="q", expect_refusal=refusal, rank=rank, top_ids=[], latency_ms=latency, search_query="q")

    results = [result(1), result(3), result(None), result(7), result(None, refusal=True, latency=50.0)]
    m = metrics(results, k=5)
    assert (m["questions"], m["in_scope"], m["out_of_scope"]) == (5, 4, 1)
    assert m["hit@1"] == 0.25 and m["hit@5"] == 0.5
    assert m["mrr@10"] == pytest.approx((1 + 1 / 3 + 1 / 7) / 4, abs=1e-4)
    assert m["latency_p50_ms"] == 10.0 and m["latency_p95_ms"] > 10.0


def test_percentile():
    assert percentile([], 50) is None and percentile([4.0], 95) == 4.0
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)
