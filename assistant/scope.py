"""The learned scope check: is a question one these sources are about at all?

The refusal rules (assistant/answer.py: weak passages, an unknown name, a legal question, an unstated
amount) miss questions close to the domain that the passages seem to answer in loose words ("Wat kost
een monteur per uur?", "Hoe laat gaat de trein?"). A logistic regression over the question's vector
(what the question is about), the best passage similarity and the evidence score, trained by
`scripts/train_models.py` on the out-of-scope and in-scope questions of the development sets in eval/,
gives the probability that a question is out of scope; above `threshold` the answer refuses with
reason "out_of_scope". The threshold was chosen, leave-one-set-out, for at most one more in-scope
refusal per several hundred questions (eval/README.md). Like the unit ranker it applies only to the
vectors of the embedder it was trained with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.ranker import model_for, read_model
from assistant.text import DATA_DIR

SCOPE_PATH = DATA_DIR / "scope_model.json"
FORMAT = 1
FEATURE_SCALE = 10.0  # best similarity and evidence score vary by hundredths: scaled like the vector's parts


def scope_features(query_vector: Any, best_dense: float, evidence: float, follow_up: bool) -> np.ndarray:
    """What the scope model reads of a question: its vector, the best passage similarity, the evidence
    score and whether it is a follow-up (its vector is then of the question with its history)."""
    return np.concatenate([np.asarray(query_vector, dtype=np.float64),
                           [FEATURE_SCALE * best_dense, FEATURE_SCALE * evidence, float(follow_up)]])


@dataclass(frozen=True)
class ScopeModel:
    weights: np.ndarray
    intercept: float
    threshold: float  # probability of "out of scope" from which the answer refuses
    embedders: tuple[str, ...]
    trained_on: dict[str, Any] = field(default_factory=dict)

    def applies(self, embedder_model: str) -> bool:
        return bool(embedder_model) and any(embedder_model.startswith(e) for e in self.embedders)

    def probability(self, features: np.ndarray) -> float:
        if len(features) != len(self.weights):
            return 0.0  # vectors of another size: no opinion
        return float(1.0 / (1.0 + np.exp(-(features @ self.weights + self.intercept))))

    def out_of_scope(self, features: np.ndarray) -> bool:
        return self.probability(features) > self.threshold

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "intercept": self.intercept, "threshold": self.threshold,
                           "embedders": list(self.embedders), "trained_on": self.trained_on,
                           "weights": [round(float(x), 6) for x in self.weights]}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, raw: str) -> "ScopeModel":
        data = json.loads(raw)
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown format {data.get('format')!r} (expected {FORMAT})")
        return cls(np.array(data["weights"], dtype=np.float64), float(data["intercept"]), float(data["threshold"]),
                   tuple(data["embedders"]), dict(data.get("trained_on") or {}))


@lru_cache(maxsize=4)
def load_scope_model(path: Path = SCOPE_PATH) -> ScopeModel | None:
    """The scope model at `path`; None (only the refusal rules refuse) when it is missing or unreadable."""
    return read_model(path, ScopeModel.from_json, "scope model", "only the refusal rules decide")


def scope_model_for(embedder_model: str, setting: str = "") -> ScopeModel | None:
    """The scope model the `scope_model` setting names ("" the bundled one, "off" none, else a file) when
    it applies to this embedder's vectors, else None."""
    return model_for(setting, SCOPE_PATH, load_scope_model, embedder_model)


def fit(features: Sequence[np.ndarray], out_of_scope: Sequence[bool], embedders: Sequence[str], *,
        c: float = 3.0, threshold: float = 0.8, trained_on: dict[str, Any] | None = None) -> ScopeModel:
    """Logistic regression (balanced classes, L2 with inverse strength `c`); needs scikit-learn."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(out_of_scope, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("the questions must include both in-scope and out-of-scope ones")
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(np.vstack(features), y)
    return ScopeModel(model.coef_[0], float(model.intercept_[0]), threshold, tuple(embedders),
                      {**(trained_on or {}), "questions": int(len(y)), "out_of_scope": int(y.sum()), "c": c})
