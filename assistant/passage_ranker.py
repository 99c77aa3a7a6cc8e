"""The learned passage ranker: the order of the passages retrieval fused, before the first k are read.

Hybrid retrieval fuses four rankings (dense, BM25, best sentence window, best sentence) by reciprocal
rank fusion, which only sees positions. This linear model reorders the fused candidates with what the
fusion throws away: how far each passage is behind the best one on every signal (dense similarity,
BM25 score, best window and best sentence similarity), how much of the question's wording it covers,
whether it is a practice case, whether it names the company the question names, its length, and its
fused position. No passage's identity is a feature: it learns how to weigh the signals, not which
passages are good, so it applies to any corpus embedded with the same model.

It is trained by `scripts/train_models.py --only passages` on the development question sets in eval/ (a
passage is a positive when it contains an evidence string of its question) as a listwise model (see
`ranker.listwise_weights`), and stored in assistant/data/passage_ranker.json with the sets it learned
from. With another embedder (other similarity scales), or with the `passage_ranker` setting `off`, the
fused order stands.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from assistant.text import DATA_DIR

PASSAGE_RANKER_PATH = DATA_DIR / "passage_ranker.json"
FORMAT = 1
FEATURES = ("reciprocal_rank", "log_rank", "dense", "lexical", "window", "sentence", "coverage", "case",
            "log_length", "named", "named_case", "follow_up_reciprocal_rank", "coverage_lexical")
SIMILARITY_SCALE = 20.0  # e5 similarities differ by hundredths: scaled so that one regularisation suits all
LENGTH_CENTRE = 6.5  # log of a typical passage's characters
L2 = 1e-3  # chosen leaving one development set out at a time (eval/README.md, session 15)


@dataclass(frozen=True)
class PassageRanker:
    features: tuple[str, ...]
    weights: np.ndarray
    embedders: tuple[str, ...]  # embedder model names (or their starts) whose similarities it learned
    trained_on: dict[str, Any] = field(default_factory=dict)

    def applies(self, embedder_model: str) -> bool:
        return bool(embedder_model) and any(embedder_model.startswith(e) for e in self.embedders)

    def score(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(features, dtype=np.float64) @ self.weights

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "features": list(self.features), "embedders": list(self.embedders),
                           "trained_on": self.trained_on, "weights": [round(float(w), 6) for w in self.weights]},
                          ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, raw: str) -> "PassageRanker":
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r} (expected {FORMAT})")
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"its features are not the ones this version computes ({', '.join(FEATURES)})")
        weights = np.array(data["weights"], dtype=np.float64)
        if len(weights) != len(FEATURES):
            raise ValueError("the weights do not match the feature names")
        return cls(FEATURES, weights, tuple(data["embedders"]), dict(data.get("trained_on") or {}))


@lru_cache(maxsize=4)
def load_passage_ranker(path: Path = PASSAGE_RANKER_PATH) -> PassageRanker | None:
    from assistant.ranker import read_model

    return read_model(path, PassageRanker.from_json, "passage ranker", "the fused order of retrieval stands")


def passage_ranker_for(embedder_model: str, setting: str = "") -> PassageRanker | None:
    """The ranker the `passage_ranker` setting names ("" the bundled one, "off" none, else a file) when
    it applies to this embedder's similarities, else None."""
    from assistant.ranker import model_for

    return model_for(setting, PASSAGE_RANKER_PATH, load_passage_ranker, embedder_model)


def best_similarities(units: Mapping[str, tuple[Any, np.ndarray]], ids: Sequence[str], vector: np.ndarray,
                      window_sizes: Sequence[int]) -> tuple[dict[str, float], dict[str, float]]:
    """Per passage of `ids` with sentence vectors: its best sentence window's and best sentence's
    similarity to the query `vector` (windows and sentences as retrieval's rankings build them)."""
    from assistant.retrieve import sentence_vectors, sentence_windows

    own = {cid: (units[cid][0], np.asarray(units[cid][1], dtype=np.float32)) for cid in ids if cid in units}
    q = np.asarray(vector, dtype=np.float32)
    return _best_per_passage(sentence_windows(own, window_sizes), q), _best_per_passage(sentence_vectors(own), q)


def _best_per_passage(rows: tuple[np.ndarray, list[str]] | None, q: np.ndarray) -> dict[str, float]:
    """The best similarity to `q` of each passage's rows (unit vectors, each with its passage)."""
    best: dict[str, float] = {}
    if rows is not None:
        for score, cid in zip((rows[0] @ q).tolist(), rows[1]):
            if score > best.get(cid, -2.0):
                best[cid] = score
    return best


def passage_features(ids: Sequence[str], dense: Mapping[str, float], lexical: Mapping[str, float],
                     windows: Mapping[str, float], sentences: Mapping[str, float], coverages: Sequence[float],
                     cases: Sequence[bool], lengths: Sequence[int], named: Sequence[bool], follow_up: bool) -> np.ndarray:
    """Candidates × FEATURES, for the fused candidates `ids` in their fused order. A passage missing from
    the dense list counts as its last one's similarity, missing from BM25's as 0, without sentence
    vectors as the worst candidate's."""
    if not ids:
        return np.zeros((0, len(FEATURES)))
    lowest = min(dense.values(), default=0.0)
    best_dense = max(dense.values(), default=0.0)
    best_lexical = max(lexical.values(), default=0.0) or 1.0
    best_window, worst_window = max(windows.values(), default=0.0), min(windows.values(), default=0.0)
    best_sentence, worst_sentence = max(sentences.values(), default=0.0), min(sentences.values(), default=0.0)
    rows = []
    for pos, cid in enumerate(ids):
        reciprocal = 1.0 / (pos + 1)
        lex = lexical.get(cid, 0.0) / best_lexical
        rows.append([
            reciprocal, math.log(pos + 1), SIMILARITY_SCALE * (dense.get(cid, lowest) - best_dense), lex,
            SIMILARITY_SCALE * (windows.get(cid, worst_window) - best_window),
            SIMILARITY_SCALE * (sentences.get(cid, worst_sentence) - best_sentence),
            coverages[pos], float(cases[pos]), math.log(max(lengths[pos], 1)) - LENGTH_CENTRE,
            float(named[pos]), float(named[pos] and cases[pos]), float(follow_up) * reciprocal, coverages[pos] * lex,
        ])
    return np.array(rows, dtype=np.float64)


def rerank(ids: Sequence[str], features: np.ndarray, model: PassageRanker) -> list[str]:
    """The candidates best first by the model; ties keep the fused order."""
    order = np.argsort(-model.score(features), kind="stable")
    return [ids[i] for i in order]


def fit(features: Sequence[np.ndarray], labels: Sequence[np.ndarray], embedders: Sequence[str], *, l2: float = L2,
        trained_on: dict[str, Any] | None = None) -> PassageRanker:
    """The listwise model over questions' candidates (`features[i]`: candidates × FEATURES of question i,
    `labels[i]`: which hold its evidence); questions without a positive, or only positives, teach nothing."""
    from assistant.ranker import listwise_weights

    usable = [(x, y.astype(bool)) for x, y in zip(features, labels) if len(y) and y.any() and not y.all()]
    if not usable:
        raise ValueError("no question has both passages with and passages without its evidence: nothing to learn from")
    x = np.vstack([x for x, _ in usable])
    y = np.concatenate([y for _, y in usable])
    w = listwise_weights(x, y, [len(y) for _, y in usable], l2)
    return PassageRanker(FEATURES, w, tuple(embedders), {**(trained_on or {}), "questions": len(usable),
                                                         "passages": int(len(y)), "positives": int(y.sum()), "l2": l2})
