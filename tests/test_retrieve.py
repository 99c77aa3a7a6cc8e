"""Lexical search and fusion: pure functions, tested directly."""

import numpy as np
import pytest

from assistant.models import Filters
from assistant.retrieve import (
    Retrieval,
    with_second_query,
    Decompounder,
    LexicalIndex,
    Tokenizer,
    cap_per_group,
    matches,
    reciprocal_rank_fusion,
)
from assistant.query import condense, expand_query, needs_context


def test_tokenizer_stems_dutch_and_drops_stop_words():
    tok = Tokenizer()
    assert tok("De regelingen voor het mkb") == tok("regeling mkb")
    assert tok("zelfsturende teams") == tok("Zelfsturend team")
    assert "de" not in tok("de de de") and tok("de het een") == []


@pytest.mark.parametrize("written, typed", [
    ("In het begin kóst het vooral tijd", "in het begin kost het vooral tijd"),
    ("financiële middelen", "financiele middelen"),
    ("coördinatie en geïntegreerd", "coordinatie en geintegreerd"),
    ("één afdeling", "een afdeling"),
])
def test_tokenizer_folds_accents_users_leave_out(written, typed):
    tok = Tokenizer()
    assert tok(written) == tok(typed) != []
    index = LexicalIndex(["a", "b"], [f"{written}.", "Iets anders over teams in de bouw."])
    assert [i for i, _ in index.search(typed, k=2)][:1] == ["a"]


def test_lexical_index_ranks_by_bm25_and_respects_allowed_ids():
    index = LexicalIndex(
        ["a", "b", "c"],
        [
            "Gerichte stimuleringsregeling voor het mkb: subsidie voor een adviseur.",
            "Zelfsturende teams in de bouw werken zonder voorman.",
            "Het mkb en de bouw: opleiding op de werkvloer.",
        ],
    )
    assert [i for i, _ in index.search("stimuleringsregeling mkb", k=3)][0] == "a"
    assert [i for i, _ in index.search("zelfsturend team", k=3)] == ["b"]
    assert [i for i, _ in index.search("mkb", k=3, allowed={"c"})] == ["c"]
    assert index.search("recept appeltaart", k=3) == []  # no known word: nothing, not an error
    assert index.search("", k=3) == []
    assert LexicalIndex([], []).search("mkb", k=3) == []


def test_carried_words_of_a_follow_up_count_less_than_the_users_own():
    # "En hoe zit het met de beloning daar?" after a question about Otolift's self-managing teams.
    filler = [f"Een passage over {w} in het mkb." for w in ("opleiding", "leiderschap", "de bouw", "de zorg")]
    index = LexicalIndex(
        ["about", "pay", "other", *map(str, range(len(filler)))],
        [
            "Otolift werkt met zelfsturende teams die zelf plannen.",
            "Bij Otolift hoort een goed salaris; naast de beloning wordt winst gedeeld.",
            "In de cao staan afspraken over beloning en toeslagen.",
            *filler,
        ],
    )
    carried = "Otolift teams"
    full = [i for i, _ in index.search("beloning", k=3, carried=carried, carried_weight=1.0)]
    weak = [i for i, _ in index.search("beloning", k=3, carried=carried, carried_weight=1 / 3)]
    own = [i for i, _ in index.search("beloning", k=3)]
    assert full[0] == "about"  # at full weight the earlier turn's words outweigh the user's own
    assert weak[0] == "pay"  # at a third, pay at that company comes first ...
    assert "about" not in own  # ... and the user's word alone would not prefer the company
    # Only carried words, and filters, still work.
    assert [i for i, _ in index.search("", k=3, carried="Otolift")][:2] in (["about", "pay"], ["pay", "about"])
    assert [i for i, _ in index.search("beloning", k=3, allowed={"pay"}, carried="Otolift")] == ["pay"]


def test_reciprocal_rank_fusion():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]], k=60)
    ids = [i for i, _ in fused]
    assert set(ids[:2]) == {"a", "b"} and ids[2:] == ["c", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    # Agreement beats a single first place: "x" is 2nd and 2nd, "y" is 1st once.
    assert reciprocal_rank_fusion([["y", "x"], ["z", "x"]])[0][0] == "x"
    assert reciprocal_rank_fusion([]) == []
    with pytest.raises(ValueError, match="greater than 0"):
        reciprocal_rank_fusion([["a"]], k=0)


def test_cap_per_group_moves_surplus_to_the_end():
    groups = {"a1": "A", "a2": "A", "a3": "A", "b1": "B"}
    assert cap_per_group(["a1", "a2", "a3", "b1"], groups, cap=2) == ["a1", "a2", "b1", "a3"]
    with pytest.raises(ValueError):
        cap_per_group(["a1"], groups, cap=0)


def test_matches_has_the_where_clause_semantics():
    meta = {"kind": "case", "sector": "bouw", "size_class": "klein", "themes": ["zelfsturende teams"], "doc_id": "x"}
    assert matches(meta, None) and matches(meta, Filters())
    assert matches(meta, Filters(kind="case", sector="bouw", theme="zelfsturende teams"))
    assert not matches(meta, Filters(sector="zorg & welzijn"))
    assert not matches(meta, Filters(theme="leiderschap"))
    assert not matches({"kind": "advies"}, Filters(theme="leiderschap"))


def test_decompounder_splits_compounds_into_corpus_words():
    d = Decompounder(["stimulering", "regeling", "onderneming", "raad", "personeel", "tekort", "subsidie"])
    assert d.split("stimuleringsregeling") == ("stimulering", "regeling")
    assert d.split("ondernemingsraad") == ("onderneming", "raad")
    assert d.split("subsidieregeling") == ("subsidie", "regeling")  # a word the corpus never used
    assert d.split("regeling") == () and d.split("werkplaats") == ()  # not a compound of corpus words
    assert d.split("mkb-bedrijven") == ()  # hyphenated words are split by the tokenizer already


def test_compound_in_the_text_matches_its_head_word_in_the_question():
    texts = ["Een gerichte stimuleringsregeling voor het mkb.", "De raad adviseert stimulering.", "Een regeling voor iedereen."]
    plain = LexicalIndex(["a", "b", "c"], texts, decompound=False)
    split = LexicalIndex(["a", "b", "c"], texts)
    assert {i for i, _ in plain.search("regeling", k=3)} == {"c"}
    assert {i for i, _ in split.search("regeling", k=3)} == {"a", "c"}
    assert split.search("subsidieregeling mkb", k=3)[0][0] == "a"


def test_expand_query_adds_dutch_terms_for_english_and_colloquial_words():
    assert "mkb" in expand_query("Is there funding for SMEs?") and "subsidie" in expand_query("Is there funding for SMEs?")
    assert "ondernemingsraad" in expand_query("How do I involve my works council?")
    assert "stimuleringsregeling" in expand_query("subsidie?")
    assert "salaris" in expand_query("En hoe zit het met de beloning daar?")  # the sources say "salaris"
    assert expand_query("holacratie").startswith("holacratie") and expand_query("holacratie") == "holacratie"
    assert "ondernemingsraad" not in expand_query("ordening")  # whole words only: "or" inside a word is no match


@pytest.mark.parametrize("question,history,expected_in,expected_out", [
    ("Hoeveel mensen werken daar?", ["Wat deed Aldowa?"], ["Aldowa"], []),
    ("How many people work there?", ["Tell me about Kinkelder."], ["Kinkelder"], []),
    ("En Finland?", ["Welke programma's voor sociale innovatie heeft Duitsland?"], ["Finland", "sociale"], ["Duitsland"]),
    ("Wat is QRM?", ["Wat deed Aldowa?"], ["QRM"], ["Aldowa"]),  # stands on its own: unchanged
])
def test_condense_carries_key_terms_only_into_follow_ups(question, history, expected_in, expected_out):
    condensed = condense(question, history)
    assert condensed.startswith(question)  # the user's own words come first, untranslated
    assert all(w in condensed for w in expected_in), condensed
    assert not any(w in condensed for w in expected_out), condensed
    assert condense(question, []) == question.strip()


def test_needs_context():
    assert needs_context("Hoeveel cliënten hebben ze?") and needs_context("En Finland?")
    assert needs_context("What about their training?")
    assert not needs_context("Wat is sociale innovatie?") and not needs_context("")


def test_weighted_fusion_lets_a_lighter_list_break_ties_only():
    dense, lexical, windows = ["a", "b"], ["b", "a"], ["b"]
    assert [i for i, _ in reciprocal_rank_fusion([dense, lexical])] == ["a", "b"]  # a tie: first seen wins
    fused = reciprocal_rank_fusion([dense, lexical, windows], weights=[1.0, 1.0, 0.7])
    assert [i for i, _ in fused] == ["b", "a"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61 + 0.7 / 61)
    with pytest.raises(ValueError, match="one weight per ranking"):
        reciprocal_rank_fusion([dense, lexical], weights=[1.0])


def test_a_second_query_fuses_its_passages_in():
    """"… maar wat is dat nou precies?" is also searched as "Wat is sociale innovatie?": the definition's
    passage joins the context-driven ones, each passage once, k at most, with its sentence units."""
    from assistant.models import Hit

    def hit(cid):
        return Hit(chunk_id=cid, doc_id=cid.split(":")[0], title="T", kind="artikel", section="", text=cid,
                   score=1.0, start=0, end=len(cid))

    first = Retrieval("q", "q", [hit("a:0"), hit("b:0"), hit("c:0")], 0.85, units={"a:0": ([(0, 3)], None)})
    second = Retrieval("Wat is X?", "Wat is X?", [hit("d:0"), hit("a:0")], 0.9, units={"d:0": ([(0, 3)], None)})
    fused = with_second_query(first, second, 3)
    ids = [h.chunk_id for h in fused.hits]
    assert ids[0] == "a:0" and "d:0" in ids and len(ids) == 3  # in both lists first; the definition in
    assert set(fused.units) == {"a:0", "d:0"} and fused.search_query == "q" and fused.best_dense == 0.9


def test_sentence_ranking_orders_passages_by_their_best_single_sentence():
    """A passage whose one sentence matches the query ranks first although its other sentence is far off
    (its mean would not); passages outside `allowed` are left out."""
    from assistant.retrieve import _best_unit_ranking, sentence_vectors

    e = np.eye(4, dtype=np.float32)
    units = {"long": ([(0, 5), (6, 9)], np.stack([e[3], 2 * e[0]])), "near": ([(0, 5)], np.stack([0.6 * e[0] + 0.8 * e[1]])),
             "empty": ([], np.zeros((0, 4), np.float32))}
    matrix, owners = sentence_vectors(units)
    assert owners == ["long", "long", "near"]
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0)  # unit length, whatever the stored scale
    query = e[0]
    assert _best_unit_ranking((matrix, owners), query, 5) == ["long", "near"]
    assert _best_unit_ranking((matrix, owners), query, 1) == ["long"]
    assert _best_unit_ranking((matrix, owners), query, 5, allowed={"near"}) == ["near"]
    assert sentence_vectors({}) is None


def test_a_large_unit_matrix_ranks_passages_as_a_full_sort_would(monkeypatch):
    """From PARTIAL_SORT_ROWS rows on only the best rows are sorted; the passages come out the same,
    also when the best rows name fewer passages than asked for (then every row is sorted)."""
    import assistant.retrieve as retrieve

    rng = np.random.default_rng(5)
    query = np.eye(8, dtype=np.float32)[0]
    # Ten passages of 200 units close to the query (their rows fill the best 16 n), 65 of 15 far ones.
    close = rng.standard_normal((2000, 8)).astype(np.float32) * 0.1 + query
    far = rng.standard_normal((975, 8)).astype(np.float32) * 0.1 - query
    matrix = np.vstack([close, far])
    owners = [f"c{i // 200}" for i in range(2000)] + [f"f{i // 15}" for i in range(975)]
    full = {n: retrieve._best_unit_ranking((matrix, owners), query, n) for n in (5, 60, 75)}
    assert len(full[75]) == 75 and full[60][:10] == sorted(full[60][:10], key=lambda c: not c.startswith("c"))
    monkeypatch.setattr(retrieve, "PARTIAL_SORT_ROWS", 1000)
    for n in (5, 60, 75):  # the best 16 n rows name 10 passages: enough for 5, not for 60 or 75 (all rows then)
        assert retrieve._best_unit_ranking((matrix, owners), query, n) == full[n]


def test_organisations_are_named_in_lowercase_too_unless_that_is_an_ordinary_word():
    from assistant.retrieve import with_lowercase_names

    table = {"BOSCH Scharnieren": ("BOSCH Scharnieren", "BOSCH", "Scharnieren"), "Van Dorp Rotterdam": ("Van Dorp Rotterdam", "Dorp"),
             "Aldowa": ("Aldowa",), "MODE": ("MODE",), "A&O fonds Gemeenten": ("A&O fonds Gemeenten", "Gemeenten")}
    texts = ["BOSCH Scharnieren maakt metalen scharnieren.", "Veel gemeenten doen mee.", "Aldowa groeit."]
    names = with_lowercase_names(table, texts)
    assert names["BOSCH Scharnieren"] == ("BOSCH Scharnieren", "BOSCH", "Scharnieren", "bosch scharnieren", "bosch")
    assert "aldowa" in names["Aldowa"]
    assert "dorp" not in names["Van Dorp Rotterdam"] and "van dorp rotterdam" in names["Van Dorp Rotterdam"]
    assert names["MODE"] == ("MODE",)  # "mode" is an ordinary word (assistant/data/common_name_words.txt)
    assert "gemeenten" not in names["A&O fonds Gemeenten"]  # the texts use it as a word
