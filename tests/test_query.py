"""Query analysis: question types, language and follow-up detection, table-driven."""

from __future__ import annotations

import pytest

from assistant.query import QUESTION_TYPES, analyse, answer_type, asked_start, clauses, states_answer_type, detect_language, needs_context, question_type


@pytest.mark.parametrize("question, expected", [
    ("Wat is sociale innovatie?", "definition"),
    ("wat bedoelen ze precies met QRM?", "definition"),
    ("Wat houdt die 1-3-1-regel in?", "definition"),
    ("What is workplace innovation?", "definition"),
    ("Is dat hetzelfde als slimmer werken?", "definition"),
    ("Waarom komt sociale innovatie vaak niet van de grond?", "reason"),
    ("Wat zijn de drempels voor kleine bedrijven?", "reason"),
    ("Why is it so hard for SMEs?", "reason"),
    ("Hoeveel mensen werken daar?", "result"),
    ("Wat levert het op?", "result"),
    ("How much did they save?", "result"),
    ("Hoe lang duurt zo'n traject?", "result"),
    ("Waar moet ik beginnen?", "start"),
    ("Hoe pak ik dat aan met mijn monteurs?", "start"),
    ("Welke stappen moet ik zetten?", "start"),
    ("How do I get my staff on board?", "start"),
    ("Hoe heeft Vermeulen die teams ingericht?", "start"),
    ("Voorbeelden van zelfsturende teams in de bouw", "example"),
    ("Are there examples in healthcare?", "example"),
    ("subsidie?", "other"),
    ("Otolift?", "other"),
    # the question among context: its clause decides
    ("Iedereen heeft het tegenwoordig over sociale innovatie, maar wat is dat nou precies? Ik heb een metaalbedrijf.",
     "definition"),
    ("wat is sociale innovatie nou eigenlijk? hoor het overal maar ik heb een bouwbedrijf met 40 man", "definition"),
    ("Ik heb een bouwbedrijf met 40 man. Wat is QRM?", "definition"),
    ("Ik heb een installatiebedrijf met 40 monteurs. Hoe begin ik hiermee?", "start"),
])
def test_question_type(question, expected):
    assert question_type(question) == expected
    assert expected in QUESTION_TYPES


@pytest.mark.parametrize("question, follow_up", [
    ("Hoeveel mensen werken daar?", True),
    ("Wat doen ze precies?", True),
    ("En Finland?", True),
    ("Hoe groot is dat bedrijf eigenlijk?", True),
    ("Wat kost dat?", True),
    ("Hoe zit het bij die firma?", True),
    ("What about their training?", True),
    ("Welke subsidie is er voor bedrijven die willen automatiseren?", False),
    ("Zijn er regelingen voor ondernemers die met zelfsturende teams starten?", False),
    ("Are there funds for companies that automate?", False),
    ("Is er een Nederlands bedrijf dat dat al echt gedaan heeft?", True),  # the relative clause's object
    ("Welke bedrijven in de zorg die dit toepassen kan ik bellen?", True),
    ("Are there companies that this works for?", True),
    ("How many people work there?", True),
    ("Is there funding for small companies?", False),
    ("Wat is sociale innovatie?", False),
    ("", False),
])
def test_follow_up_detection_leaves_relative_clauses_alone(question, follow_up):
    assert needs_context(question) is follow_up


def test_language_and_analysis():
    assert detect_language("Is there funding for SMEs?") == "en"
    assert detect_language("Waar moet ik beginnen?") == "nl"
    assert detect_language("subsidie?") == "nl"  # no clue: the app's default
    analysis = analyse("Hoeveel mensen werken daar?", history_given=True)
    assert (analysis.language, analysis.type, analysis.follow_up) == ("nl", "result", True)
    assert not analyse("Hoeveel mensen werken daar?").follow_up  # nothing to follow up on


def test_the_thesaurus_file_maps_questions_to_the_sources_words():
    from assistant.query import _expansions, expand_query, thesaurus

    plain, cased = thesaurus()
    assert plain["works council"] == "ondernemingsraad|medezeggenschap" and "OR" in cased
    assert all(k == k.lower() for k in plain)
    assert expand_query("Is there funding for SMEs?").endswith("subsidie financiering regeling mkb")
    # "OR" is the works council only in capitals; English "or" is a word.
    assert [e[2] for e in _expansions("Moet de OR instemmen?")] == ["OR"]
    assert _expansions("tea or coffee") == []


@pytest.mark.parametrize("question, expected", [
    ("Wat is QRM?", ["Wat is QRM?"]),
    ("Ik heb een bouwbedrijf. Wat is QRM?", ["Ik heb een bouwbedrijf.", "Wat is QRM?"]),
    ("Iedereen heeft het erover, maar wat is dat?", ["Iedereen heeft het erover", "maar wat is dat?"]),
    ("Teams, rollen en taken: hoe regel je dat?", ["Teams, rollen en taken: hoe regel je dat?"]),  # a list, no clause
    ("regel 1\nregel 2", ["regel 1", "regel 2"]),
])
def test_clauses(question, expected):
    assert clauses(question) == expected


@pytest.mark.parametrize("question, expected", [
    ("Hoe lang heeft het bij die trapliftenfabrikant geduurd voordat de mentaliteit om was?", "duration"),
    ("How long did that culture change take them?", "duration"),
    ("Hoeveel mensen werken daar?", "count"),
    ("hoe groot zijn de teams daar?", "count"),
    ("How many employees does Aldowa have?", "count"),
    ("Met hoeveel procent daalde het verzuim?", "percent"),
    ("Wat levert het op?", ""),  # results of any kind: no one figure asked
    ("Hoeveel subsidie kan ik krijgen?", ""),
])
def test_answer_type(question, expected):
    assert answer_type(question) == expected


@pytest.mark.parametrize("sentence, kind, expected", [
    ("De mentaliteitsverandering heeft zo'n zeven jaar gekost.", "duration", True),
    ("Het project liep twaalf maanden.", "duration", True),
    ("In 2019 begon het bedrijf met teams.", "duration", False),  # a year is no duration
    ("Eind 2019 werkten er 65 mensen bij dit bedrijf.", "count", True),
    ("Multidisciplinaire teams van 10 tot 12 personen stellen teamdoelen op.", "count", True),
    ("Het bedrijf bestaat sinds 1978.", "count", False),
    ("Het verzuim daalde met 3,5 procent.", "percent", True),
    ("Het verzuim daalde.", "percent", False),
    ("Eind 2019 werkten er 65 mensen.", "", False),
    ("Inmiddels doen ruim zeventig ondernemingen mee.", "count", True),  # numbers written as words
    ("Er werken vijfentwintig mensen in de fabriek.", "count", True),
    ("Het traject duurde dertien maanden.", "duration", True),
    ("Tweehonderd medewerkers volgden de training.", "count", True),
    ("Het is een prachtig bedrijf met krachtige mensen.", "count", False),
])
def test_states_answer_type(sentence, kind, expected):
    assert states_answer_type(sentence, kind) is expected


@pytest.mark.parametrize("sentence, expected", [
    ("Inmiddels doen ruim zeventig ondernemingen mee.", True), ("Het kost 2.000 euro.", True),
    ("Dat duurde drie jaar.", True), ("Duizenden werknemers doen mee.", True),
    ("Het werk werd prachtig en krachtig.", False), ("Een team neemt zelf beslissingen.", False),
])
def test_any_number_finds_digits_and_number_words(sentence, expected):
    from assistant.query import ANY_NUMBER

    assert bool(ANY_NUMBER.search(sentence)) is expected


@pytest.mark.parametrize("question, asked", [
    ("We voeren een nieuw ERP-systeem in. Hoe doe ik dat samen met het personeel?", "Hoe doe ik dat samen met het personeel?"),
    ("Hoeveel WBSO-aftrek krijg ik? Ik heb 12 man.", "Hoeveel WBSO-aftrek krijg ik? Ik heb 12 man."),  # asks first
    ("Vertel eens over de WBSO.", "Vertel eens over de WBSO."),  # no question mark: all of it
    ("Ik heb een lening van 50.000 euro. Welke rente is normaal?", "Welke rente is normaal?"),  # no cut at "50.000"
])
def test_the_asking_part_of_a_question_follows_the_users_context(question, asked):
    assert question[asked_start(question):] == asked
