
import pytest

from assistant.config import ChunkingSettings, Settings
from assistant.corpus import clean_text, load_corpus, load_file, slugify, SkipFile
from tests.conftest import BAD_FILES, GOOD_SOURCES, REPO


def test_clean_text_removes_conversion_debris_and_keeps_wording():
    raw = (
        "<b>1 Inleiding.....</b>\t<b>11</b>\n"
        "zoals procesinnovatie,<sup>9</sup> vernieuwing van het productieproces.<sup>10</sup>\n\n\n\n"
        "17\n\n"
        '<ul style="list-style-type: none"><li>Opleiding</li><li>Coaching op de werkvloer</li></ul>\n'
        "• eerste punt\n"
        "Smart Industry &amp; Sociale Innovatie  \n"
    )
    cleaned = clean_text(raw)
    assert "<" not in cleaned and "....." not in cleaned
    assert "zoals procesinnovatie, vernieuwing van het productieproces." in cleaned
    assert "Opleiding; Coaching op de werkvloer" in cleaned
    assert "- eerste punt" in cleaned
    assert "Smart Industry & Sociale Innovatie\n" in cleaned
    assert "\n17\n" not in cleaned and "\n\n\n" not in cleaned
    assert clean_text(cleaned) == cleaned  # idempotent


def test_clean_text_leaves_other_markup_as_text():
    # A <script> in a corpus text is content; it is escaped where shown, never dropped or executed.
    assert "<script>alert(1)</script>" in clean_text("Zie <script>alert(1)</script> hier.")


def test_load_corpus_skips_each_bad_file_with_a_named_warning(corpus_dir):
    report = load_corpus(corpus_dir)
    assert {d.source for d in report.documents} == GOOD_SOURCES
    assert len(report.warnings) == len(BAD_FILES)
    for name, reason in BAD_FILES.items():
        matching = [w for w in report.warnings if name in w]
        assert len(matching) == 1, (name, report.warnings)
        assert reason in matching[0]


def test_front_matter_and_defaults(corpus_dir):
    docs = {d.id: d for d in load_corpus(corpus_dir).documents}
    regeling = docs["subsidie-regeling"]
    assert regeling.title == "Stimuleringsregeling voor het mkb"
    assert regeling.kind == "advies"
    assert regeling.meta["url"] == "https://example.org/regeling"
    assert regeling.text.startswith("## 3 Voorstellen")
    # A text file without front matter gets an id from its name and the neutral kind.
    plain = docs["metaal-opleiden"]
    assert plain.kind == "overig" and plain.title == "metaal opleiden"


def test_unknown_kind_is_skipped_and_a_duplicate_id_is_a_conflict(tmp_path):
    (tmp_path / "a.md").write_text("---\nid: same\nkind: roman\n---\nTekst.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nid: same\n---\nTekst een.\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("---\nid: same\n---\nTekst twee.\n", encoding="utf-8")
    report = load_corpus(tmp_path)
    assert report.documents == []  # neither b.md nor c.md: a conflict is never resolved by file order
    assert report.warnings == [w for w in report.warnings if "a.md" in w and "roman" in w and "advies" in w] != []
    assert report.conflicts == {"same": ["b.md", "c.md"]}


def test_unclosed_front_matter_is_named(tmp_path):
    path = tmp_path / "open.md"
    path.write_text("---\nid: open\ntitle: Nooit dicht\n\nTekst.\n", encoding="utf-8")
    with pytest.raises(SkipFile, match="no closing '---'"):
        load_file(path, tmp_path)


def test_slugify():
    assert slugify("Zicht op — Sociale innovatie!") == "zicht-op-sociale-innovatie"
    assert slugify("Coöperatie Één") == "cooperatie-een"


# --- red team: a document takes over another document's id (A) -----------------------------------

GENUINE = "zicht-op-sociale-innovatie"


@pytest.mark.parametrize("forgery", ["documents/aaa-update.md", "documents/zzz-update.md", "cases/case-aaa.md"])
def test_a_forged_id_is_a_conflict_naming_both_files_whatever_their_order(tmp_path, forgery):
    import shutil

    (tmp_path / "documents").mkdir()
    (tmp_path / "cases").mkdir()
    shutil.copy(REPO / "corpus" / "documents" / f"{GENUINE}.md", tmp_path / "documents")
    (tmp_path / forgery).write_text(f"---\nid: {GENUINE}\ntitle: Vervalst\nkind: artikel\n---\n\nNiets waard.\n",
                                    encoding="utf-8")
    report = load_corpus(tmp_path)
    assert report.documents == [] and report.warnings == []
    assert report.conflicts == {GENUINE: sorted([f"documents/{GENUINE}.md", forgery])}
    (message,) = report.conflict_messages()
    assert f"documents/{GENUINE}.md" in message and forgery in message
    assert "rename the id" in message and "remove the extra file" in message


def test_the_real_corpus_has_unique_ids_and_fits_the_default_bounds():
    settings = Settings()
    report = load_corpus(REPO / "corpus", chunking=settings.chunking, max_passages=settings.document_passage_limit)
    assert not report.warnings and not report.conflicts and len(report.documents) >= 37
    from assistant.chunking import chunk_document

    largest = max(len(chunk_document(d, settings.chunking)) for d in report.documents)
    assert largest * 5 <= settings.document_passage_limit == 500  # the bound is five times the largest document


# --- red team: unbounded indexing cost (B) ----------------------------------------------------------

def test_front_matter_text_is_bounded_with_a_warning(tmp_path):
    themes = "".join(f"\n  - thema {i}" for i in range(1_000))
    (tmp_path / "groot.md").write_text(
        f"---\ntitle: {'Sociale innovatie ' * 11_200}\npublisher: {'SER ' * 2_000}\nthemes:{themes}\n---\n\nTekst.\n",
        encoding="utf-8")
    warnings: list[str] = []
    doc = load_file(tmp_path / "groot.md", tmp_path, warnings)
    assert len(doc.title) <= 300 and doc.title.startswith("Sociale innovatie Sociale")
    assert len(doc.meta["publisher"]) <= 1_000 and len(doc.meta["themes"]) == 100
    assert warnings == [
        "groot.md: title is 201,599 characters; cut to 300 (shorten it in the front matter)",
        "groot.md: publisher is 7,999 characters; cut to 1,000 (shorten it in the front matter)",
        "groot.md: themes has 1,000 items; kept the first 100 (shorten the list)",
    ]
    # A title taken from the first heading is bounded too, and so is the heading path of its passages.
    from assistant.chunking import chunk_document

    (tmp_path / "kop.md").write_text(f"# {'Kop ' * 1_000}\n\nTekst.\n", encoding="utf-8")
    doc = load_file(tmp_path / "kop.md", tmp_path)
    assert len(doc.title) <= 300
    assert [len(c.section) <= 300 for c in chunk_document(doc, ChunkingSettings())] == [True]


def test_nested_or_aliased_front_matter_and_long_ids_are_skipped(tmp_path):
    import time

    # "Billion laughs": nine levels of YAML aliases make ten small lines stand for 10**9 strings.
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (tmp_path / "lach.md").write_text("---\n" + "\n".join(levels) + "\npublisher: *a8\n---\n\nTekst.\n",
                                      encoding="utf-8")
    (tmp_path / "lang-id.md").write_text(f"---\nid: {'x' * 200}\n---\n\nTekst.\n", encoding="utf-8")
    started = time.perf_counter()
    report = load_corpus(tmp_path)
    assert time.perf_counter() - started < 5
    assert [d.source for d in report.documents] == []  # (never the documents' repr: it would expand the aliases)
    assert any("lach.md: front matter field 'a1' must be text" in w and "simple list" in w for w in report.warnings)
    assert any("lang-id.md: id is 200 characters long; use at most 120" in w for w in report.warnings)


def test_a_document_with_too_many_passages_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "veel.md").write_text("".join(f"## Kop {i}\n\nTekst {i}.\n\n" for i in range(600)), encoding="utf-8")
    (tmp_path / "gewoon.md").write_text("## Kop\n\nTekst.\n", encoding="utf-8")
    assert len(load_corpus(tmp_path).documents) == 2  # without a bound (the source browser) both load
    report = load_corpus(tmp_path, chunking=ChunkingSettings(), max_passages=500)
    assert [d.source for d in report.documents] == ["gewoon.md"]
    assert report.warnings == [
        "skipped veel.md: would give 600 passages, more than the 500 one document may give "
        "(ASSISTANT_MAX_DOCUMENT_PASSAGES); split it into smaller documents or raise that setting"]


def test_document_passage_limit_setting(monkeypatch):
    assert Settings().document_passage_limit == 500
    # Shorter passages: proportionally more (the real corpus at the shortest allowed passages gives 562).
    assert Settings(chunking=ChunkingSettings(max_chars=200, overlap_chars=50)).document_passage_limit == 3_000
    monkeypatch.setenv("ASSISTANT_MAX_DOCUMENT_PASSAGES", "50")
    assert Settings().document_passage_limit == 50
    monkeypatch.setenv("ASSISTANT_MAX_DOCUMENT_PASSAGES", "0")
    with pytest.raises(ValueError, match="max_document_passages must be greater than 0"):
        Settings()


def test_a_corpus_file_over_the_size_bound_is_skipped_unread(tmp_path):
    from assistant.corpus import MAX_FILE_BYTES

    with open(tmp_path / "enorm.md", "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no 20 MB written
    with pytest.raises(SkipFile, match="enorm.md: file is 20.0 MB, more than the 20 MB a corpus file may have; split"):
        load_file(tmp_path / "enorm.md", tmp_path)
