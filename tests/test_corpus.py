
import pytest

from assistant.corpus import clean_text, load_corpus, load_file, slugify, SkipFile
from tests.conftest import BAD_FILES, GOOD_SOURCES


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


def test_unknown_kind_and_duplicate_id_are_skipped(tmp_path):
    (tmp_path / "a.md").write_text("---\nid: same\nkind: roman\n---\nTekst.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\nid: same\n---\nTekst een.\n", encoding="utf-8")
    (tmp_path / "c.md").write_text("---\nid: same\n---\nTekst twee.\n", encoding="utf-8")
    report = load_corpus(tmp_path)
    assert [d.source for d in report.documents] == ["b.md"]
    assert any("a.md" in w and "roman" in w and "advies" in w for w in report.warnings)
    assert any("c.md" in w and "already used by b.md" in w for w in report.warnings)


def test_unclosed_front_matter_is_named(tmp_path):
    path = tmp_path / "open.md"
    path.write_text("---\nid: open\ntitle: Nooit dicht\n\nTekst.\n", encoding="utf-8")
    with pytest.raises(SkipFile, match="no closing '---'"):
        load_file(path, tmp_path)


def test_slugify():
    assert slugify("Zicht op — Sociale innovatie!") == "zicht-op-sociale-innovatie"
    assert slugify("Coöperatie Één") == "cooperatie-een"
