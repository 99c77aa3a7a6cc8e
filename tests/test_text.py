"""Text analysis: the shared sentence splitter, plain quotes, subject-less openings."""

from __future__ import annotations

import pytest

from assistant.chunking import _units
from assistant.text import opens_with_reference, plain, sentence_ends, sentence_spans, word_list


def test_sentence_spans_keep_urls_abbreviations_and_drop_list_markers():
    text = ("Zie www.ser.nl voor meer. Er zijn o.a. teams en o.m. coaches nodig. J. Jansen zegt dat ook.\n"
            "- eerste punt van de lijst\n- tweede punt van de lijst")
    sentences = [text[a:b] for a, b in sentence_spans(text, min_chars=1)]
    assert sentences == ["Zie www.ser.nl voor meer.", "Er zijn o.a. teams en o.m. coaches nodig.",
                         "J. Jansen zegt dat ook.", "eerste punt van de lijst", "tweede punt van de lijst"]


def test_sentence_spans_drop_short_fragments_and_page_numbers():
    text = "Kort. 12\nDit is een zin die lang genoeg is om te tellen."
    assert [text[a:b] for a, b in sentence_spans(text)] == ["Dit is een zin die lang genoeg is om te tellen."]


def test_chunking_cuts_long_paragraphs_where_the_answer_splitter_ends_sentences():
    text = "Bedrijven doen o.a. mee aan netwerken. " * 30
    cuts = {e for _, e in _units(text, 0, len(text), 200)}
    ends = set(sentence_ends(text)) | {len(text.rstrip())}
    assert cuts <= ends  # never inside "o.a."
    assert all(not text[:e].endswith("o.a.") for e in cuts)


@pytest.mark.parametrize("raw, shown", [
    ("**Aldowa** is een metaalbedrijf.", "Aldowa is een metaalbedrijf."),
    ("Het heet *Industrie 4.0* en __zo__ verder.", "Het heet Industrie 4.0 en zo verder."),
    ("Lees [het advies](https://www.ser.nl) of ![logo](http://x/y.png).", "Lees het advies of logo."),
    ("Geen opmaak hier.", "Geen opmaak hier."),
    # The partner of a marker lies in another sentence: the lone one goes, a star between spaces stays.
    ("leren van sociale innovatie elders*. Aldowa deed mee.", "leren van sociale innovatie elders. Aldowa deed mee."),
    ("*Slimmer werken, anders organiseren.", "Slimmer werken, anders organiseren."),
    ("3 * 4 = 12", "3 * 4 = 12"),
    ("De medewerker van morgen \\* Onderzoek", "De medewerker van morgen * Onderzoek"),
])
def test_plain_drops_markdown_but_keeps_the_words(raw, shown):
    assert plain(raw) == shown


@pytest.mark.parametrize("sentence, refers", [
    ("Het bedrijf is overgenomen door Constructive.", True),
    ("Ze stellen daarbij de klant centraal.", True),
    ("Dit leidde tot minder verzuim.", True),
    ("**Daarnaast** werken ze met teams.", True),
    ("Uit onvrede daarmee besloot de directie het anders te doen.", True),  # points back as its 3rd word
    ("Mede daardoor daalde het verzuim.", True),
    ("Aldowa is een Rotterdams metaalbedrijf.", False),
    ("Aldowa is daarmee een voorbeeld.", True),  # the subject is named, what "daarmee" means is not
    ("Aldowa werkt sinds 2016 daarmee.", False),  # later in the sentence it is the sentence's own business
    ("Sinds 2016 werken de teams zelfstandig.", False),
    ("Sociale innovatie is vernieuwing van het arbeidsproces.", False),
    ("Dan is het lastig om vernieuwingen door te voeren.", True),  # a connective continues the sentence before
    ("Desondanks is het bedrijf een familiebedrijf gebleven.", True),
    ("Wel werd duidelijk dat er kaders en spelregels nodig zijn.", True),
    ("Xavier: “Dat komt doordat er een beroep wordt gedaan op hun kennis.", True),  # after the speaker's name
    ("Xavier: “Sociale innovatie loont.”", False),
    ("Dankzij de teams daalde het verzuim.", False),  # "dan" only as a word of its own
])
def test_opens_with_reference(sentence, refers):
    assert opens_with_reference(sentence) is refers


def test_word_lists_are_lower_case_without_comments():
    abbreviations = word_list("abbreviations")
    assert "o.a." in abbreviations and all(not w.startswith("#") and w == w.lower() for w in abbreviations)
