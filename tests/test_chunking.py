import pytest

from assistant.chunking import PATH_SEPARATOR, chunk_document, sections
from assistant.config import ChunkingSettings
from assistant.corpus import load_corpus
from assistant.models import Document

LONG_SECTION = " ".join(f"Zin nummer {i} gaat over zelfsturende teams in de bouw." for i in range(60))
TEXT = (
    "Inleidende tekst zonder kop.\n\n"
    "## 3 Enkele voorstellen\n\nKorte inleiding van hoofdstuk drie.\n\n"
    "### 3.3 Rol overheid – gerichte stimuleringsregeling mkb\n\n" + LONG_SECTION + "\n\nLaatste alinea van 3.3.\n\n"
    "#### Gerichte stimuleringsregeling mkb\n\nDe regeling zelf.\n\n"
    "### 3.4 **Platform**\n\nOver het platform.\n\n"
    "## 4 Afrondend\n\nSlot.\n"
)
DOC = Document(id="doc", title="Advies", kind="advies", text=TEXT, source="documents/doc.md", content_hash="x")
SETTINGS = ChunkingSettings(max_chars=400, overlap_chars=120)


def test_sections_carry_heading_paths():
    paths = [s.path for s in sections(TEXT)]
    assert paths == [
        "",
        "3 Enkele voorstellen",
        "3 Enkele voorstellen > 3.3 Rol overheid – gerichte stimuleringsregeling mkb",
        "3 Enkele voorstellen > 3.3 Rol overheid – gerichte stimuleringsregeling mkb > Gerichte stimuleringsregeling mkb",
        "3 Enkele voorstellen > 3.4 Platform",  # emphasis markers stripped, 3.4 replaces 3.3
        "4 Afrondend",
    ]


def test_offsets_are_exact_and_no_chunk_crosses_a_section():
    chunks = chunk_document(DOC, SETTINGS)
    bounds = [(s.start, s.end, s.path) for s in sections(TEXT)]
    for c in chunks:
        assert TEXT[c.start : c.end] == c.text
        assert len(c.text) <= SETTINGS.max_chars
        assert "#" not in c.text  # no heading inside a chunk
        (section,) = [b for b in bounds if b[0] <= c.start and c.end <= b[1]]
        assert section[2] == c.section
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))


def test_long_section_is_split_on_sentences_with_overlap():
    long_path = "3 Enkele voorstellen > 3.3 Rol overheid – gerichte stimuleringsregeling mkb"
    parts = [c for c in chunk_document(DOC, SETTINGS) if c.section == long_path]
    assert len(parts) >= 4
    for a, b in zip(parts, parts[1:]):
        assert b.start < a.end, "consecutive chunks of a section overlap"
        assert a.end - b.start <= SETTINGS.overlap_chars
        assert b.start > a.start, "each chunk moves forward"
        assert b.text[0].isupper(), "a chunk starts at a sentence boundary"
        assert a.text.rstrip()[-1] in ".!?", "a chunk ends at a sentence boundary"
    # Together the parts cover the whole section text.
    covered = set()
    for c in parts:
        covered.update(range(c.start, c.end))
    body = TEXT.index(LONG_SECTION)
    assert set(range(body, body + len(LONG_SECTION))) <= covered


def test_chunk_ids_are_stable_and_content_addressed():
    first = chunk_document(DOC, SETTINGS)
    again = chunk_document(DOC, SETTINGS)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)
    edited = Document(**{**DOC.__dict__, "text": TEXT.replace("Slot.", "Slot, herzien.")})
    changed = chunk_document(edited, SETTINGS)
    assert [c.id for c in changed[:-1]] == [c.id for c in first[:-1]]
    assert changed[-1].id != first[-1].id
    assert first[0].id.startswith("doc:0000:")


def test_very_long_sentence_is_cut_on_white_space():
    words = " ".join(["woord"] * 400)  # 2400 characters, no full stop
    doc = Document(id="w", title="T", kind="artikel", text=words + "\n", source="w.md", content_hash="x")
    chunks = chunk_document(doc, SETTINGS)
    assert len(chunks) >= 6
    assert all(len(c.text) <= SETTINGS.max_chars and not c.text.startswith(" ") for c in chunks)
    assert all(c.text.replace(" ", "").replace("woord", "") == "" for c in chunks)


def test_fixture_corpus_chunks(corpus_dir):
    docs = {d.id: d for d in load_corpus(corpus_dir).documents}
    chunks = chunk_document(docs["bakkerij-teams"], ChunkingSettings())
    assert [c.section for c in chunks] == [
        "",
        "1 Aanpak" + PATH_SEPARATOR + "1.1 Eerste stap",
        "1 Aanpak" + PATH_SEPARATOR + "1.2 Rol van de leidinggevende",
        "2 Resultaten",
    ]
    assert "Zelfsturende teams in de bakkerij\n1 Aanpak > 1.1 Eerste stap" in chunks[1].embedding_text()


@pytest.mark.parametrize("max_chars,overlap", [(100, 10), (1000, 600)])
def test_chunking_settings_are_validated(max_chars, overlap):
    with pytest.raises(ValueError, match="max_chars|overlap_chars"):
        ChunkingSettings(max_chars=max_chars, overlap_chars=overlap)
