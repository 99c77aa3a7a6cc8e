"""Retrieval evaluation on a gold set: is a passage with the evidence in the top k?

Gold lines (JSON Lines): {"question": str, "history": [str] (optional earlier user turns),
"evidence": [str] (any one must occur in a passage, compared case- and punctuation-insensitively),
"expect_refusal": bool}; other fields (id, lang, type) are kept for the per-question report.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from assistant.errors import GoldSetError
from assistant.models import Hit

MRR_DEPTH = 10


@dataclass(frozen=True)
class GoldQuestion:
    question: str
    evidence: tuple[str, ...]
    expect_refusal: bool = False
    history: tuple[str, ...] = ()
    id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def load_gold(path: Path) -> list[GoldQuestion]:
    """Read and validate a gold file; every problem names the line and what to fix."""
    path = Path(path)
    if not path.is_file():
        raise GoldSetError(f"Gold file {path} does not exist; pass a JSON Lines file (see eval/gold.jsonl).")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise GoldSetError(f"{where}: not valid JSON ({e.msg}); each line must be one JSON object.") from e
        if not isinstance(row, dict):
            raise GoldSetError(f"{where}: expected a JSON object, got {type(row).__name__}.")
        question, evidence = row.get("question"), row.get("evidence", [])
        refusal, history = row.get("expect_refusal", False), row.get("history", [])
        if not isinstance(question, str) or not question.strip():
            raise GoldSetError(f"{where}: \"question\" must be a non-empty string.")
        if not isinstance(refusal, bool):
            raise GoldSetError(f"{where}: \"expect_refusal\" must be true or false.")
        if not isinstance(evidence, list) or not all(isinstance(e, str) and normalize(e) for e in evidence):
            raise GoldSetError(f"{where}: \"evidence\" must be a list of non-empty strings.")
        if not evidence and not refusal:
            raise GoldSetError(f"{where}: give at least one \"evidence\" string, or set \"expect_refusal\": true.")
        if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
            raise GoldSetError(f"{where}: \"history\" must be a list of strings (earlier user turns).")
        known = {"question", "evidence", "expect_refusal", "history", "id"}
        items.append(GoldQuestion(
            question=question, evidence=tuple(evidence), expect_refusal=refusal, history=tuple(history),
            id=str(row.get("id") or f"line{n}"), extra={k: v for k, v in row.items() if k not in known},
        ))
    if not items:
        raise GoldSetError(f"Gold file {path} holds no questions.")
    return items


def normalize(text: str) -> str:
    """Case- and punctuation-insensitive form: casefolded words joined by single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.findall(r"\w+", text))


def contains_evidence(text: str, evidence: Sequence[str]) -> bool:
    """Whether a text (e.g. the answer shown to the user) contains any evidence string."""
    shown = normalize(text)
    return any(normalize(e) in shown for e in evidence)


def evidence_rank(hits: Sequence[Hit], evidence: Sequence[str]) -> int | None:
    """1-based rank of the first passage that contains any evidence string, or None."""
    wanted = [normalize(e) for e in evidence]
    for rank, hit in enumerate(hits, 1):
        text = normalize(hit.text)
        if any(w in text for w in wanted):
            return rank
    return None


@dataclass
class QuestionResult:
    id: str
    question: str
    expect_refusal: bool
    rank: int | None  # of the first passage with evidence, within the top MRR_DEPTH
    top_ids: list[str]
    latency_ms: float
    search_query: str
    extra: dict[str, Any] = field(default_factory=dict)
    # Filled when answers are scored:
    refused: bool | None = None
    refusal_reason: str | None = None
    citations_hold_evidence: bool | None = None  # in-scope answers: does a cited passage contain evidence?
    answer_evidence: bool | None = None  # in-scope: does the answer text the user reads contain evidence?
    shown_chars: int | None = None  # length of the answer text the user reads
    quoted_chars: int | None = None  # of which quoted corpus text (extractive answers)
    answer_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {**self.__dict__, "latency_ms": round(self.latency_ms, 1)}
        if self.answer_ms is not None:
            data["answer_ms"] = round(self.answer_ms, 1)
        return data


def percentile(values: Sequence[float], q: float) -> float | None:
    """q-th percentile (0-100) by linear interpolation, None for no values."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


def metrics(results: Sequence[QuestionResult], k: int) -> dict[str, Any]:
    """hit@1, hit@k and MRR@10 over the in-scope questions; latency over all."""
    scored = [r for r in results if not r.expect_refusal]
    n = len(scored)
    latencies = [r.latency_ms for r in results]

    def share(cond) -> float | None:
        return round(sum(1 for r in scored if cond(r)) / n, 4) if n else None

    return {
        "questions": len(results),
        "in_scope": n,
        "out_of_scope": len(results) - n,
        "k": k,
        "hit@1": share(lambda r: r.rank == 1),
        f"hit@{k}": share(lambda r: r.rank is not None and r.rank <= k),
        "mrr@10": round(sum(1 / r.rank for r in scored if r.rank) / n, 4) if n else None,
        "latency_p50_ms": None if not latencies else round(percentile(latencies, 50), 1),
        "latency_p95_ms": None if not latencies else round(percentile(latencies, 95), 1),
    }


def metrics_by_type(results: Sequence[QuestionResult], k: int) -> dict[str, dict[str, Any]]:
    """hit@1 / hit@k / MRR per gold "type" field (when the gold file has one), in-scope questions only."""
    groups: dict[str, list[QuestionResult]] = {}
    for r in results:
        if "type" in r.extra and not r.expect_refusal:
            groups.setdefault(str(r.extra["type"]), []).append(r)
    table = {}
    for name, rs in sorted(groups.items()):
        m = metrics(rs, k)
        row = {key: m[key] for key in ("in_scope", "hit@1", f"hit@{k}", "mrr@10")}
        if any(r.answer_evidence is not None for r in rs):
            row["answer_evidence"] = round(sum(bool(r.answer_evidence) for r in rs) / len(rs), 4)
        table[name] = row
    return table


def evaluate_retrieval(
    retrieve: Callable[[GoldQuestion, int], tuple[list[Hit], str]],
    gold: Sequence[GoldQuestion],
    k: int = 5,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, Any], list[QuestionResult]]:
    """Run `retrieve(item, depth) -> (hits, search_query)` for every gold question and score it."""
    if k <= 0:
        raise ValueError(f"k must be greater than 0. Currently it is {k}.")
    depth = max(k, MRR_DEPTH)
    results = []
    for i, item in enumerate(gold, 1):
        started = time.perf_counter()
        hits, search_query = retrieve(item, depth)
        latency = (time.perf_counter() - started) * 1000
        rank = None if item.expect_refusal else evidence_rank(hits, item.evidence)
        results.append(QuestionResult(
            id=item.id, question=item.question, expect_refusal=item.expect_refusal, rank=rank,
            top_ids=[h.chunk_id for h in hits[:k]], latency_ms=latency, search_query=search_query, extra=item.extra,
        ))
        if progress:
            progress(i, len(gold))
    return metrics(results, k), results


def score_answers(
    ask: Callable[[GoldQuestion], Any], gold: Sequence[GoldQuestion], results: Sequence[QuestionResult],
) -> dict[str, Any]:
    """Ask every gold question; refusal accuracy, citation precision, answer evidence, shown length, latency.

    `ask(item)` returns an object with `.text`, `.refused` and `.citations` (each with `.text`).
    Citation precision: the share of answered in-scope questions whose cited passages contain evidence.
    Answer evidence: the share of in-scope questions whose answer text, as the user reads it, contains
    evidence (a refusal counts as a miss): what the user sees, not what the sources panel holds.
    """
    for item, result in zip(gold, results):
        started = time.perf_counter()
        answer = ask(item)
        result.answer_ms = (time.perf_counter() - started) * 1000
        result.refused = bool(answer.refused)
        result.refusal_reason = getattr(answer, "refusal_reason", None) if answer.refused else None
        if not answer.refused:
            result.shown_chars = len(answer.text)
            result.quoted_chars = getattr(answer, "quoted_chars", None)
        if not item.expect_refusal:
            result.answer_evidence = not answer.refused and contains_evidence(answer.text, item.evidence)
            if not answer.refused:
                result.citations_hold_evidence = evidence_rank(answer.citations, item.evidence) is not None
    in_scope = [r for r in results if not r.expect_refusal]
    out_scope = [r for r in results if r.expect_refusal]
    answered = [r for r in in_scope if not r.refused]
    latencies = [r.answer_ms for r in results if r.answer_ms is not None]
    shown = [r.shown_chars for r in answered if r.shown_chars is not None]
    quoted = [r.quoted_chars for r in answered if r.quoted_chars is not None]

    def share(items, cond) -> float | None:
        return round(sum(1 for r in items if cond(r)) / len(items), 4) if items else None

    return {
        "refusal_accuracy": share(results, lambda r: r.refused == r.expect_refusal),
        "in_scope_refused": share(in_scope, lambda r: r.refused),
        "out_of_scope_refused": share(out_scope, lambda r: r.refused),
        "citation_precision": share(answered, lambda r: r.citations_hold_evidence),
        "answer_evidence": share(in_scope, lambda r: r.answer_evidence),
        "refusal_reasons": dict(Counter(r.refusal_reason or "unknown" for r in results if r.refused)),
        "shown_chars_median": round(statistics.median(shown)) if shown else None,
        "shown_chars_p90": round(percentile(shown, 90)) if shown else None,
        "quoted_chars_median": round(statistics.median(quoted)) if quoted else None,
        "answer_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "answer_p95_ms": round(percentile(latencies, 95), 1) if latencies else None,
    }
