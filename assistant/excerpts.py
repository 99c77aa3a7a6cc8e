"""Excerpts: the passages' own text that an extractive answer shows.

Candidate units are single sentences and windows of two or three consecutive sentences of the
passages an answer reads. Each is scored by the dense similarity of the unit to the question (its
sentence vectors were embedded at index time), fused with how much of the question's wording it
covers, a prior for its passage's rank, and a bonus for the shape the question asks for (a
definition, a reason, a figure, a step). The best few are shown, without overlaps and at most two per
passage, within a length budget. Every excerpt is labelled with what it is about: the case's
organisation, or the document's short title and year (and the practice-case company a report's
excerpt is about), plus "voorstel" for a proposal and the period of a scheme that has ended.
Measured on the gold sets in eval/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from assistant.models import Hit
from assistant.query import answer_type, entities, states_answer_type
from assistant.ranker import UnitRanker
from assistant.retrieve import _WORD, LexicalIndex, QueryTerm, coverage
from assistant.text import opens_with_reference, plain, sentence_spans, word_list

# Fusion weights and budget, chosen on the tuning sets (gold, heldout, heldout2, heldout3; eval/README.md).
DENSE_WEIGHT = 0.5  # per standard deviation of the unit-question similarity among the candidates
COVERAGE_WEIGHT = 1.0  # share of the question's term weight the unit covers (0..1)
RANK_PRIOR = 1.0  # prior of the passage at rank r: RANK_PRIOR / r**RANK_EXPONENT
RANK_EXPONENT = 2.0
SHAPE_BONUS = 0.3  # per sentence (at most two) of the shape the question type asks for
DEFINITION_BONUS = 1.0  # a unit that opens by defining what a "wat is"-question asks: the definition leads
NOTE_PENALTY = 0.3  # a footnote ("Noot: …") is background, not the answer
WINDOW_PENALTY = 0.05  # per sentence beyond the first: of two equal units, the shorter one
OVERLAP = 0.5  # share of the shorter unit's words in the longer that makes two units say the same
ANSWER_TYPE_BONUS = 0.5  # a unit stating the figure a "hoe lang / hoeveel mensen / welk percentage" question wants
NAME_BONUS = 0.5  # a unit that names what the question names ("Aldowa", "Buurtzorg")
OTHER_COMPANY_PENALTY = 1.0  # a unit about another practice-case company than the one the question names
MAX_WINDOW = 3  # sentences per unit
MAX_EXCERPTS = 4
PER_PASSAGE = 2
BUDGET_CHARS = 1100  # quoted characters per answer (the first excerpt is always shown)
SUBJECT_EXTRA_CHARS = 200  # what repairing an excerpt's lost subject may add beyond the budget
SHORT_EXCERPT = 250  # an excerpt shorter than this may read on into a next sentence of the asked shape
# The score of a unit: a weighted sum of its features (see `candidates`).
WEIGHTS = {
    "dense": DENSE_WEIGHT, "coverage": COVERAGE_WEIGHT, "rank_prior": RANK_PRIOR, "shape": SHAPE_BONUS,
    "named": NAME_BONUS, "defining": DEFINITION_BONUS, "extra_sentences": -WINDOW_PENALTY, "note": -NOTE_PENALTY,
    "other_company": -OTHER_COMPANY_PENALTY, "answer_type": ANSWER_TYPE_BONUS,
}
SCORE_GAP = 1.5  # an excerpt scoring this much below the best is left out (2.0 added 5 of 282 tuning answers' evidence
# but none on the blind heldout7, where its longer answers were judged less useful; eval/README.md)

_FIGURE = re.compile(r"\d")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_QUESTION_END = re.compile(r"[?:][\"'”’)]*\s*$")  # a question (answered after it) or a colon (a list follows)
_SOURCE_LINE = re.compile(r"\W*(bron|bronnen|source)\b", re.I)
# A reading tip or web address ("Meer lezen: https://…", "Buurtzorg (kennisbanksocialeinnovatie.nl)")
# is a pointer, not an answer: no excerpt includes it.
_REFERENCE = re.compile(r"https?://|www\.|\b[\w-]+\.(?:nl|com|org|eu|de|be|net)\b|(?:^|\n)\W*(?:meer lezen|zie ook|lees meer)\b",
                        re.I)
# "begin 2018", "begin jaren negentig": the noun (early in a period), not the verb a start question uses.
_BEGIN_OF_PERIOD = re.compile(r"\b(begin|eind|halverwege)\s+(?=\d|jaren\b|dit\b|deze\b|volgend)", re.I)
# Sentences of our case files about the source itself ("De bron noemt het …", "Verdere details geeft de
# bron niet"), and bibliographic lines ("(september 2022) Two cases … Leiden: TNO."): not content.
_META = re.compile(r"\b(?:de|het) (?:bron|artikel|rapport)\b|\bgeeft de bron\b|\bnoemt de bron\b", re.I)
_BIBLIOGRAPHY = re.compile(r"^\W*\((?:[a-z]+ )?(?:19|20)\d\d\)|\b[A-Z][a-z]+: [A-Z]{2,}\b\.?\s*$|\(Report [A-Z]", re.M)
_NOTE = re.compile(r"\W*noot\b", re.I)
_LABEL_LINE = re.compile(r"^[ \t]*(?:[-*+][ \t]+)?[^\n]{1,60}:[ \t]*-?[ \t]*$", re.M)  # "- OOM:", "- OOI: -"
_PERIOD = re.compile(r"\b((?:19|20)\d\d)\s*[-–]\s*((?:19|20)\d\d)\b")


@dataclass
class Excerpt:
    """A unit of consecutive sentences of one passage, with its scores."""

    hit: Hit
    rank: int  # of the passage among those the answer reads, from 1
    first: int  # index of its first and last sentence among the passage's sentences
    last: int
    start: int  # offsets into hit.text
    end: int
    dense: float
    coverage: float
    score: float = 0.0
    tokens: frozenset[str] = field(default_factory=frozenset)
    features: dict[str, float] = field(default_factory=dict)  # what the score is made of (WEIGHTS)
    vector: Any = None  # the unit's vector (its sentences' vectors summed, unit length), when stored
    sentence_tokens: tuple[frozenset[str], ...] = ()  # each sentence's words, for repeats across excerpts

    @property
    def text(self) -> str:
        return self.hit.text[self.start : self.end]

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def doc_span(self) -> tuple[int, int]:
        return (self.hit.start + self.start, self.hit.start + self.end)


def _has_prefix(tokens: Sequence[str], prefixes: frozenset[str]) -> bool:
    return any(w.startswith(p) for w in tokens for p in prefixes)


def shape_match(text: str, qtype: str) -> bool:
    """Whether a unit has the shape a question type asks for: a figure or a change for "result", a
    reason word for "reason", a step for "start" (word lists in assistant/data/)."""
    words = _WORD.findall(text.lower())
    if qtype == "result":
        return bool(_FIGURE.search(text)) or _has_prefix(words, word_list("result_words"))
    if qtype == "reason":
        return _has_prefix(words, word_list("reason_words"))
    if qtype == "start":
        return _has_prefix(words, word_list("step_words"))
    return False


def asked_organisations(text: str, organisations: dict[str, Sequence[str]]) -> set[str]:
    """The practice-case organisations a question (with what a follow-up carried over) names."""
    return {name for name, aliases in organisations.items() if any(_name_pattern(a).search(text) for a in aliases)}


def same_organisation(a: str, b: str) -> bool:
    """Whether two practice-case names are one subject: the same name, or one the other's start
    ("Smart Industry" and "Smart Industry Hubs": a question about "een Smart Industry Hub" names the first)."""
    a, b = a.lower(), b.lower()
    return a == b or a.startswith(b + " ") or b.startswith(a + " ")


def _units_of(hit: Hit, units: dict[str, Any]) -> tuple[list[tuple[int, int]], Any]:
    """A passage's sentence spans and their stored vectors; for a build without units, its sentences
    split here and no vectors."""
    return units.get(hit.chunk_id) or (sentence_spans(hit.text), None)


def candidates(
    hits: Sequence[Hit], units: dict[str, Any], query_vector: Any, terms: Sequence[QueryTerm],
    lexical: LexicalIndex, qtype: str = "other", names: Sequence[str] = (), defines=None,
    organisations: dict[str, Sequence[str]] | None = None, asked: set[str] | None = None, question: str = "",
    ranker: UnitRanker | None = None,
) -> list[Excerpt]:
    """Every unit of up to MAX_WINDOW consecutive sentences of the passages, scored, best first.

    `units` maps a chunk id to its sentence spans and vectors (stored at index time); a passage without
    them (an index built before units existed) is split here and scored on its wording only.
    `defines(text)` tells whether a unit defines what a definition question asks about. When the
    question names practice-case companies (`asked`), a unit about another company weighs less.
    The score is the learned `ranker`'s (assistant/ranker.py) when every unit has a vector, else the
    hand-set WEIGHTS' sum.
    """
    q = None if query_vector is None else np.asarray(query_vector, dtype=np.float32)
    lowered_names = [n.lower() for n in names]
    mentions: dict[str, list[tuple[int, str]]] = {}  # chunk id -> its organisation mentions, when needed
    out: list[Excerpt] = []
    spans_by_chunk: dict[str, list[tuple[int, int]]] = {}
    for rank, hit in enumerate(hits, 1):
        spans, vectors = _units_of(hit, units)
        spans_by_chunk[hit.chunk_id] = spans
        if vectors is not None and len(vectors) != len(spans):
            vectors = None
        sentence_tokens = [lexical.text_tokens(_BEGIN_OF_PERIOD.sub(" ", hit.text[a:b])) for a, b in spans]
        usable = [not _REFERENCE.search(hit.text[a:b]) and not _SOURCE_LINE.match(hit.text[a:b])
                  and not _BIBLIOGRAPHY.search(hit.text[a:b]) and not (hit.kind == "case" and _META.search(hit.text[a:b]))
                  for a, b in spans]
        for i in range(len(spans)):
            for w in range(1, MAX_WINDOW + 1):
                j = i + w - 1
                if j >= len(spans):
                    break
                if not usable[j]:
                    break
                start, end = spans[i][0], spans[j][1]
                last_sentence = hit.text[spans[j][0] : spans[j][1]]
                if w > 1 and _REFERENCE.search(hit.text[spans[i][1] : end]):
                    break  # a reading tip between the sentences ("Meer lezen: …")
                if w > 1 and _skips_text(hit.text, spans, j):
                    break  # a list label between them ("- OOM:", "- OOI: -"): the quote would run them together
                if w > 1 and _moves_to_another_company(hit, spans, i, j, organisations, mentions):
                    break
                # A unit never ends on a question or a colon: what answers it follows.
                if _QUESTION_END.search(last_sentence):
                    continue
                dense, v = 0.0, None
                if q is not None and vectors is not None:
                    v = vectors[i : j + 1].sum(axis=0, dtype=np.float32)
                    v = v / (np.linalg.norm(v) or 1.0)
                    dense = float(q @ v)
                tokens = frozenset().union(*sentence_tokens[i : j + 1])
                out.append(Excerpt(hit, rank, i, j, start, end, dense, coverage(terms, tokens), tokens=tokens, vector=v,
                                   sentence_tokens=tuple(sentence_tokens[i : j + 1])))
    if not out:
        return out
    dense = np.array([c.dense for c in out])
    mean, std = float(dense.mean()), float(dense.std()) or 1.0
    shaped_sentences: dict[tuple[str, int], bool] = {}

    def shaped(c: Excerpt) -> float:
        """How many of the unit's sentences (at most two) have the asked shape: "heeft meerdere
        redenen. Een reden is …" answers a "waarom" question better than its first sentence alone.
        For "voorbeelden" the shape is a practice case: a company that did it."""
        if qtype == "example":
            return 2.0 if c.hit.kind == "case" else 0.0
        spans = spans_by_chunk[c.hit.chunk_id]
        count = 0
        for k in range(c.first, c.last + 1):
            key = (c.hit.chunk_id, k)
            if key not in shaped_sentences:
                sentence = c.hit.text[spans[k][0] : spans[k][1]]
                shaped_sentences[key] = shape_match(sentence, qtype)
            count += shaped_sentences[key]
        return min(count, 2)

    def defining(c: Excerpt) -> bool:
        """The unit opens with a sentence that defines what a definition question asks about."""
        if qtype != "definition" or defines is None:
            return False
        spans = spans_by_chunk[c.hit.chunk_id]
        return defines(c.hit.text[spans[c.first][0] : spans[c.first][1]])

    def other_company(c: Excerpt) -> bool:
        if not asked:
            return False
        if c.hit.kind == "case":
            subject = str(c.hit.meta.get("organisation") or "")
        else:
            if c.hit.chunk_id not in mentions:
                mentions[c.hit.chunk_id] = organisation_mentions(c.hit.text, organisations or {})
            subject = about_organisation(c.hit, c.start, c.end, organisations or {}, mentions[c.hit.chunk_id])
        return bool(subject) and not any(same_organisation(plain(subject), name) for name in asked)

    wanted = answer_type(question)

    def states_figure(c: Excerpt) -> bool:
        spans = spans_by_chunk[c.hit.chunk_id]
        return any(states_answer_type(c.hit.text[spans[k][0] : spans[k][1]], wanted) for k in range(c.first, c.last + 1))

    for c in out:
        named = any(n in c.text.lower() or n in c.hit.title.lower() for n in lowered_names)
        c.features = {
            "dense": (c.dense - mean) / std, "coverage": c.coverage, "rank_prior": 1.0 / c.rank ** RANK_EXPONENT,
            "shape": shaped(c), "named": float(named), "defining": float(defining(c)),
            "extra_sentences": float(c.last - c.first), "note": float(bool(_NOTE.match(c.text))),
            "other_company": float(other_company(c)), "answer_type": float(bool(wanted) and states_figure(c)),
        }
        c.score = sum(WEIGHTS[k] * v for k, v in c.features.items())
    if ranker is not None and q is not None and all(c.vector is not None for c in out):
        learned = ranker.score(np.array([[c.features[k] for k in ranker.features] for c in out]),
                               np.array([c.vector for c in out]), q, hand=np.array([c.score for c in out]))
        for c, score in zip(out, learned):
            c.score = float(score)
    return sorted(out, key=lambda c: -c.score)


def _moves_to_another_company(hit: Hit, spans: Sequence[tuple[int, int]], i: int, j: int,
                              organisations: dict[str, Sequence[str]] | None,
                              mentions: dict[str, list[tuple[int, str]]]) -> bool:
    """Whether the window of sentences i..j of a document passage reads across a paragraph break into a
    paragraph about another practice-case company than the one its start is about (or into one about
    a company while what comes before it has no known subject: a passage that begins at the end of one
    company's story in a report and goes on with the next company's). Such a window would quote two
    companies as one; the sentences on either side stay candidates on their own."""
    if hit.kind == "case" or not organisations or not _PARAGRAPH_BREAK.search(hit.text[spans[j - 1][1] : spans[j][0]]):
        return False
    if hit.chunk_id not in mentions:
        mentions[hit.chunk_id] = organisation_mentions(hit.text, organisations)
    named = [name for pos, name in mentions[hit.chunk_id] if spans[j][0] <= pos < spans[j][1]]
    if not named:
        return False
    before = about_organisation(hit, spans[i][0], spans[j - 1][1], organisations, mentions[hit.chunk_id])
    return named[0] != before


def _skips_text(text: str, spans: Sequence[tuple[int, int]], k: int) -> bool:
    """Whether a label lies between sentence k-1 and sentence k, in text that belongs to no sentence: a
    list's labels ("- OOM:", "- OOI: -") or a lead-in ("En meer in het algemeen:"), which an excerpt
    running from one to the other would quote as a garbled run ("… brengen. - OOI: - - OOM: - Meer
    aandacht …"). Short list items between them ("- managementvaardigheden,") are content and stay."""
    return k > 0 and bool(_LABEL_LINE.search(text[spans[k - 1][1] : spans[k][0]]))


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    """Two units that say the same: most words shared (Jaccard), or nearly all words of the shorter one
    in the longer (a case summary restating the report it was written from)."""
    if not a or not b:
        return False
    shared = len(a & b)
    return shared / len(a | b) > 0.6 or shared / min(len(a), len(b)) > OVERLAP


REPEAT_MIN_WORDS = 6  # a sentence this long that another excerpt already says makes its excerpt a repeat
REPEAT_SHARE = 0.8  # share of the shorter sentence's words in the other that makes it the same sentence


def _repeats_a_sentence(a: Excerpt, b: Excerpt) -> bool:
    """Whether excerpt `a` says again a sentence that `b` says (a case summary and the report it was
    written from, "CTS beschouwt zichzelf als een platte projectorganisatie …" in both): showing it
    spends the reader's time on what is already there."""
    return any(len(s) >= REPEAT_MIN_WORDS and len(t) >= REPEAT_MIN_WORDS
               and len(s & t) / min(len(s), len(t)) > REPEAT_SHARE
               for s in a.sentence_tokens for t in b.sentence_tokens)


def select(ranked: Sequence[Excerpt], max_excerpts: int | None = None, budget: int | None = None,
           gap: float | None = None) -> list[Excerpt]:
    """The best excerpts that fit: no overlap in a document, at most PER_PASSAGE per passage, no
    near-duplicates, within `budget` quoted characters (the best one always), none scoring `gap`
    (default SCORE_GAP) or more below the best."""
    max_excerpts = MAX_EXCERPTS if max_excerpts is None else max_excerpts
    budget = BUDGET_CHARS if budget is None else budget
    gap = SCORE_GAP if gap is None else gap
    chosen: list[Excerpt] = []
    used = 0
    for c in ranked:
        if len(chosen) >= max_excerpts:
            break
        if _overlaps(c, [(x.hit.doc_id, *x.doc_span()) for x in chosen]):
            continue
        if sum(x.hit.chunk_id == c.hit.chunk_id for x in chosen) >= PER_PASSAGE:
            continue
        if chosen and used + len(c.text) > budget:
            continue
        if chosen and c.score < chosen[0].score - gap:
            break
        if any(_near_duplicate(c.tokens, x.tokens) or _repeats_a_sentence(c, x) for x in chosen):
            continue
        chosen.append(c)
        used += len(c.text)
    return chosen


def _overlaps(excerpt: Excerpt, spans: Sequence[tuple[str, int, int]]) -> bool:
    """Whether an excerpt overlaps any of (document, start, end) in `spans`."""
    a, b = excerpt.doc_span()
    return any(doc == excerpt.hit.doc_id and start < b and a < end for doc, start, end in spans)


def figure_first(excerpt: Excerpt, units: dict[str, Any], wanted: str) -> Excerpt:
    """For a question that asks for a figure (`wanted`: see `answer_type`), an excerpt of several
    sentences whose first one does not state it starts at the sentence that does: the number first,
    not after the sentences leading up to it (its subject is repaired after, as for any excerpt)."""
    if not wanted or excerpt.first == excerpt.last:
        return excerpt
    spans = _units_of(excerpt.hit, units)[0]
    if excerpt.last >= len(spans):
        return excerpt
    stating = [k for k in range(excerpt.first, excerpt.last + 1)
               if states_answer_type(excerpt.hit.text[spans[k][0] : spans[k][1]], wanted)]
    if not stating or stating[0] == excerpt.first:
        return excerpt
    k = stating[0]
    return Excerpt(excerpt.hit, excerpt.rank, k, excerpt.last, spans[k][0], excerpt.end, excerpt.dense,
                   excerpt.coverage, excerpt.score, excerpt.tokens)


def keep_subject(excerpt: Excerpt, units: dict[str, Any], room: int) -> Excerpt:
    """An excerpt that opens by referring back ("Het bedrijf is overgenomen …", "Ze stellen …") starts
    one sentence earlier, where its subject is named, when that fits in `room` characters."""
    if excerpt.first == 0 or not opens_with_reference(excerpt.text):
        return excerpt
    spans = _units_of(excerpt.hit, units)[0]
    if excerpt.first >= len(spans):
        return excerpt
    previous = spans[excerpt.first - 1]
    if excerpt.start - previous[0] > room or _skips_text(excerpt.hit.text, spans, excerpt.first):
        return excerpt
    return Excerpt(excerpt.hit, excerpt.rank, excerpt.first - 1, excerpt.last, previous[0], excerpt.end,
                   excerpt.dense, excerpt.coverage, excerpt.score, excerpt.tokens)


def extend_shape(excerpt: Excerpt, units: dict[str, Any], qtype: str, room: int) -> Excerpt:
    """A short excerpt whose next sentence has the asked shape reads on: "… heeft meerdere redenen."
    is followed by "Een reden is …" (up to MAX_WINDOW sentences, within `room` characters)."""
    if qtype not in ("reason", "start", "result"):
        return excerpt
    spans = _units_of(excerpt.hit, units)[0]
    last, end = excerpt.last, excerpt.end
    while (last + 1 < len(spans) and last - excerpt.first + 1 < MAX_WINDOW and end - excerpt.start < SHORT_EXCERPT
           and spans[last + 1][1] - end <= room):
        following = excerpt.hit.text[spans[last + 1][0] : spans[last + 1][1]]
        if not shape_match(following, qtype) or _REFERENCE.search(following) or _QUESTION_END.search(following) \
                or _skips_text(excerpt.hit.text, spans, last + 1):
            break
        room -= spans[last + 1][1] - end
        last, end = last + 1, spans[last + 1][1]
    if last == excerpt.last:
        return excerpt
    return Excerpt(excerpt.hit, excerpt.rank, excerpt.first, last, excerpt.start, end,
                   excerpt.dense, excerpt.coverage, excerpt.score, excerpt.tokens)


def excerpts_for(
    hits: Sequence[Hit], units: dict[str, Any], query_vector: Any, terms: Sequence[QueryTerm],
    lexical: LexicalIndex, question: str, qtype: str = "other", defines=None,
    max_excerpts: int | None = None, budget: int | None = None,
    organisations: dict[str, Sequence[str]] | None = None, asked_text: str = "", ranker: UnitRanker | None = None,
    taken: Sequence[tuple[str, int, int]] = (),
) -> list[Excerpt]:
    """The excerpts an answer shows, best first, each keeping its subject (at most `max_excerpts`,
    default MAX_EXCERPTS, within `budget` characters, default BUDGET_CHARS), ranked by the learned
    `ranker` when one is given and the units have vectors. `taken`: (document, start, end) of text the
    answer quotes already (a theme's points); no excerpt overlaps it, the next best ones are shown."""
    max_excerpts = MAX_EXCERPTS if max_excerpts is None else max_excerpts
    budget = BUDGET_CHARS if budget is None else budget
    asked = asked_organisations(asked_text or question, organisations or {})
    ranked = candidates(hits, units, query_vector, terms, lexical, qtype, entities(question), defines,
                        organisations, asked, question, ranker)
    learned = ranker is not None and query_vector is not None and all(c.vector is not None for c in ranked)
    # A question about one company never gets a quote about another one while others are left.
    ranked = [c for c in ranked if not c.features.get("other_company")] or ranked
    ranked = [c for c in ranked if not _overlaps(c, taken)]
    chosen = select(ranked, max_excerpts, budget, ranker.score_gap if learned else None)
    wanted = answer_type(question)
    chosen = [figure_first(c, units, wanted) for c in chosen]
    room = budget + SUBJECT_EXTRA_CHARS - sum(len(c.text) for c in chosen)
    out = []
    for c in chosen:
        repaired = keep_subject(c, units, room)
        room -= len(repaired.text) - len(c.text)
        extended = extend_shape(repaired, units, qtype, room)
        room -= len(extended.text) - len(repaired.text)
        out.append(extended)
    # A repaired excerpt may now reach into another one of the same passage (or into quoted text): keep the better.
    kept: list[Excerpt] = []
    for c in out:
        if not _overlaps(c, [*taken, *((x.hit.doc_id, *x.doc_span()) for x in kept)]):
            kept.append(c)
    return kept


# --- labels: what an excerpt is about ---------------------------------------------------------------

def year_of(meta: dict[str, Any]) -> str:
    """The year of a document's front matter date ("2023-03" -> "2023"), or ""."""
    m = re.match(r"\s*'?((?:19|20)\d\d)", str(meta.get("date") or ""))
    return m.group(1) if m else ""


def ended_periods(text: str, today: date | None = None) -> list[str]:
    """Year ranges in a text that have ended ("ESF-programma 2007-2013" -> ["2007–2013"])."""
    year = (today or date.today()).year
    return list(dict.fromkeys(f"{a}–{b}" for a, b in _PERIOD.findall(text) if int(a) <= int(b) < year))


def is_proposal(section: str) -> bool:
    """Whether a heading path marks a proposal or recommendation ("3 Enkele voorstellen > 3.3 …")."""
    words = set(_WORD.findall(section.lower()))
    return bool(words & word_list("proposal_headings"))


LABEL_WORDS = {
    "nl": {"case": "praktijkvoorbeeld", "proposal": "voorstel", "ended": "afgelopen", "about": "over"},
    "en": {"case": "practice case", "proposal": "proposal", "ended": "ended", "about": "about"},
}


@lru_cache(maxsize=4096)
def _name_pattern(alias: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(alias) + r"(?!\w)")


def organisation_mentions(text: str, organisations: dict[str, Sequence[str]]) -> list[tuple[int, str]]:
    """(offset, organisation) for every place a text names a practice-case organisation; at one
    position the longest name comes first ("Smart Industry Hubs" before "Smart Industry")."""
    found = [(m.start(), name) for name, aliases in organisations.items() for alias in aliases
             for m in _name_pattern(alias).finditer(text)]
    return sorted(found, key=lambda f: (f[0], -len(f[1])))


# Where a report turns to another subject, so that a company named before is no longer what the text is
# about: a paragraph that opens on a place or a party ("In Finland is in 2012–2018 …" after a paragraph
# on Arbeit 2020, "Bij PRO6 worden …") or a list item headed by a name ("- OOM:" after "- OTIB:").
_SUBJECT_BOUNDARY = re.compile(r"(?m)^[ \t]*(?:(?:[-*][ \t]+)?(?:In|Bij|At|In the) [A-Z]|[-*][ \t]+[^\n:]{1,40}:[ \t]*$)")


@lru_cache(maxsize=4096)
def subject_boundaries(text: str) -> tuple[int, ...]:
    """Offsets in a passage where the text turns to another subject (see _SUBJECT_BOUNDARY); cached per
    passage text, as every candidate excerpt of a passage asks what it is about."""
    return tuple(m.start() for m in _SUBJECT_BOUNDARY.finditer(text))


SUBJECT_BEFORE = "subject_before"  # Hit.meta: the organisation its section's story was about where the passage begins


def subject_before(hit: Hit, earlier: Sequence[Hit], organisations: dict[str, Sequence[str]],
                   mentions: dict[str, list[tuple[int, str]]] | None = None) -> str | None:
    """The practice-case organisation named last before a document passage in `earlier` (the passages of
    its section that begin before it): a report's story of one company runs over several passages, and
    a passage that begins in the middle of it ("Medewerkers van verschillende afdelingen …" in
    Kesselaar's story) is still about that company. `mentions` caches each passage's
    `organisation_mentions` by chunk id."""
    if hit.kind == "case" or not organisations:
        return None
    mentions = {} if mentions is None else mentions
    if 0 in subject_boundaries(hit.text):
        return None  # the passage opens on another subject
    for passage in sorted((p for p in earlier if p.start < hit.start), key=lambda p: -p.start):
        if passage.chunk_id not in mentions:
            mentions[passage.chunk_id] = organisation_mentions(passage.text, organisations)
        named = [m for m in mentions[passage.chunk_id] if passage.start + m[0] < hit.start]
        turns = [b for b in subject_boundaries(passage.text) if passage.start + b < hit.start]
        if turns and (not named or max(turns) > max(pos for pos, _ in named)):
            return None  # the text turned to another subject after the company named last (or before any)
        if named:
            return _last_named(named)
    return None


def _last_named(mentions: Sequence[tuple[int, str]]) -> str:
    """The organisation of the last of (offset, organisation) mentions; at one offset, the longest name
    (the one `organisation_mentions` puts first)."""
    last = max(pos for pos, _ in mentions)
    return next(name for pos, name in mentions if pos == last)


def about_organisation(hit: Hit, start: int, end: int, organisations: dict[str, Sequence[str]],
                       mentions: list[tuple[int, str]] | None = None) -> str | None:
    """The practice-case organisation a document excerpt is about: the one it names (the first, when it
    names several), else the last one named before it in its passage ("Er zijn weer teammanagers" in a
    passage about Vermeulen), else the one its section named last before the passage (SUBJECT_BEFORE in
    the hit's meta, see `subject_before`). `organisations` maps a name to the names a text may use for
    it; `mentions` are the passage's (see `organisation_mentions`) when the caller already has them."""
    if hit.kind == "case" or not organisations:
        return None
    mentions = organisation_mentions(hit.text, organisations) if mentions is None else mentions
    inside = [f for f in mentions if start <= f[0] < end]
    if inside:
        return inside[0][1]
    turns = [b for b in subject_boundaries(hit.text) if b <= start]
    since = max(turns) if turns else -1
    before = [f for f in mentions if since <= f[0] < start]
    if not before:
        if turns:
            return None  # a company named before the text turned to another subject is not this one's
        carried = hit.meta.get(SUBJECT_BEFORE)
        return carried if carried in organisations else None
    return _last_named(before)


_SENTENCE_END = re.compile(r"[.!?][”’\"']?\s")


def label_about(hit: Hit, start: int, end: int, organisations: dict[str, Sequence[str]]) -> str | None:
    """What a label says a document excerpt (hit.text[start:end]) is about: the organisations it names
    ("A en B" when it names two), else the one named last before it. An excerpt that opens with a whole
    sentence before its first name ("Het werk werd leuker. In Doetinchem werkt …") still carries the
    subject named before it: the label then names both, that one first."""
    if hit.kind == "case" or not organisations:
        return None
    mentions = organisation_mentions(hit.text, organisations)
    inside = list(dict.fromkeys(name for pos, name in mentions if start <= pos < end))
    before = about_organisation(hit, start, start, organisations, mentions)
    if not inside:
        return before
    first = min(pos for pos, name in mentions if start <= pos < end)
    names = inside[:2]
    if before and before not in names and _SENTENCE_END.search(hit.text[start:first]):
        names = [before, *inside][:2]
    return " en ".join(names)


def source_label(hit: Hit, excerpt_text: str = "", language: str = "nl", about: str | None = None) -> str:
    """What an excerpt is about, for the reader: "Aldowa (praktijkvoorbeeld)", "SER-advies (2023),
    voorstel", "SER-advies (2023), over Aldowa", "Artikel ‘Sociale Innovatie’ (2019), 2007–2013 afgelopen"."""
    words = LABEL_WORDS[language]
    meta = hit.meta
    if hit.kind == "case":
        return f"{plain(str(meta.get('organisation') or hit.title))} ({words['case']})"
    name = plain(str(meta.get("short_title") or hit.title))
    if len(name) > 60:
        name = name[:57].rsplit(" ", 1)[0] + " …"
    year = year_of(meta)
    label = f"{name} ({year})" if year else name
    tags = [f"{words['about']} {plain(about)}"] if about else []
    if is_proposal(hit.section):
        tags.append(words["proposal"])
    periods = ended_periods(excerpt_text)
    if not periods and _SCHEME.search(excerpt_text):  # "Vanaf 1 oktober 2009 kunnen bedrijven subsidie
        periods = ended_periods(hit.text)  # aanvragen …" in a passage about the ESF-programma 2007-2013
    tags += [f"{period} {words['ended']}" for period in periods]
    return ", ".join([label, *tags])


# Words of a scheme one applies to: such an excerpt takes the ended period its passage names.
_SCHEME = re.compile(r"\b(?:subsidie\w*|regeling\w*|aanvra\w*|programma\w*|subsid\w*|scheme|funding|grant)", re.I)
