"""The learned scope check: its probability, its file, when it applies, and that fitting learns."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from assistant.config import load_settings
from assistant.scope import SCOPE_PATH, ScopeModel, fit, load_scope_model, scope_features, scope_model_for


def test_the_probability_and_threshold_decide():
    model = ScopeModel(np.array([1.0, -1.0, 0.0, 0.0, 0.0]), 0.0, 0.8, ("multilingual-e5-small",))
    far = scope_features([3.0, 0.0], 0.0, 0.0, False)
    near = scope_features([0.0, 3.0], 0.0, 0.0, False)
    assert model.probability(far) == pytest.approx(1 / (1 + np.exp(-3.0)))
    assert model.out_of_scope(far) and not model.out_of_scope(near)
    assert model.probability(np.zeros(7)) == 0.0  # features of another size: no opinion
    assert scope_features([0.5, 0.5], 0.86, 0.9, True).tolist() == [0.5, 0.5, 8.6, 9.0, 1.0]


def test_the_model_file_round_trips_and_a_broken_one_falls_back(tmp_path, caplog):
    model = ScopeModel(np.array([0.25, -0.5, 1.0]), -1.5, 0.7, ("multilingual-e5-small",), {"sets": ["gold.jsonl"]})
    path = tmp_path / "s.json"
    path.write_text(model.to_json(), encoding="utf-8")
    again = load_scope_model(path)
    assert np.allclose(again.weights, model.weights) and (again.intercept, again.threshold) == (-1.5, 0.7)
    broken = tmp_path / "broken.json"
    broken.write_text("{}", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_scope_model(broken) is None
    assert "cannot be read" in caplog.text and "train_models" in caplog.text


def test_the_bundled_model_applies_to_its_own_embedder_only(tmp_path, monkeypatch):
    bundled = load_scope_model(SCOPE_PATH)
    assert bundled is not None, "assistant/data/scope_model.json must ship with the package"
    assert len(bundled.weights) == 384 + 3 and 0.5 <= bundled.threshold < 1.0
    assert not {"heldout17.jsonl", "heldout18.jsonl"} & set(bundled.trained_on["sets"])  # the blind sets it was measured on
    assert scope_model_for("multilingual-e5-small-q4") is bundled
    assert scope_model_for("all-MiniLM-L6-v2") is None and scope_model_for("multilingual-e5-small-q4", "off") is None
    monkeypatch.setenv("ASSISTANT_SCOPE_MODEL", str(tmp_path / "missing.json"))
    with pytest.raises(Exception, match="scope_model must be empty.*write one with scripts/train_models.py"):
        load_settings()


def test_fitting_separates_the_two_kinds():
    rng = np.random.default_rng(2)
    inside = [scope_features(rng.normal(size=8) + [2, 0, 0, 0, 0, 0, 0, 0], 0.88, 0.9, False) for _ in range(60)]
    outside = [scope_features(rng.normal(size=8) - [2, 0, 0, 0, 0, 0, 0, 0], 0.84, 0.85, False) for _ in range(20)]
    model = fit(inside + outside, [False] * 60 + [True] * 20, ("multilingual-e5-small",), threshold=0.5)
    assert sum(model.out_of_scope(f) for f in outside) >= 18 and sum(model.out_of_scope(f) for f in inside) <= 3
    with pytest.raises(ValueError, match="both in-scope and out-of-scope"):
        fit(inside, [False] * 60, ())
