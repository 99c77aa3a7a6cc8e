"""Query analysis: what kind of question this is, in which language, whether it leans on the
conversation before it (and what it carries over), and the domain thesaurus. Pure functions of the question text; the word lists are data files in
assistant/data/ with table-driven tests (tests/test_query.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from typing import Sequence

from assistant.text import DATA_DIR, sentence_spans, stopwords, word_list

_WORD = re.compile(r"\w+", re.UNICODE)

QUESTION_TYPES = ("definition", "reason", "result", "start", "example", "other")

_ENGLISH_HINTS = frozenset(
    "the what which who how is are do does can could should would i my we our you your there their about for with "
    "of and to in it this that have has will when where why many much".split()
)
_DUTCH_HINTS = frozenset(
    "de het een wat welke wie hoe is zijn kan kun kunnen moet moeten ik mijn we wij ons onze je jij jouw er over "
    "voor met van en in dat dit heeft hebben wanneer waar waarom hoeveel zijn daar".split()
)


def detect_language(text: str) -> str:
    """"en" when the question reads as English, else "nl" (the default of the app)."""
    words = _WORD.findall(text.lower())
    en = sum(w in _ENGLISH_HINTS for w in words)
    nl = sum(w in _DUTCH_HINTS for w in words)
    return "en" if en > nl else "nl"


@lru_cache(maxsize=None)
def _type_patterns() -> tuple[tuple[str, tuple[re.Pattern, ...]], ...]:
    sections: dict[str, list[re.Pattern]] = {}
    current = None
    for raw in (DATA_DIR / "question_types.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in QUESTION_TYPES:
                raise ValueError(f"question_types.txt: unknown type [{current}]; use one of {', '.join(QUESTION_TYPES)}.")
            sections[current] = []
        elif current is not None:
            sections[current].append(re.compile(line, re.I))
    return tuple((name, tuple(patterns)) for name, patterns in sections.items())


# A question often comes with context around it ("Ik heb een bouwbedrijf met 40 man. Hoe begin ik?",
# "Iedereen heeft het over sociale innovatie, maar wat is dat nou precies?"): its clauses are what
# follows a sentence end, a line break, or a comma or semicolon before "maar", "dus", "want", "en".
_CLAUSE_BREAK = re.compile(r"(?<=[.?!])\s+|\n+|[,;:]\s+(?=(?:maar|dus|want|en|of|but|so|and)\b)", re.I)


def clauses(question: str) -> list[str]:
    """The question's sentences and the clauses after "…, maar", each stripped ("" parts dropped)."""
    return [c.strip() for c in _CLAUSE_BREAK.split(question) if c and c.strip()]


def asked_start(question: str) -> int:
    """Where the question's asking part starts: its first sentence that ends in a question mark. The
    sentences before it tell the user's context ("We voeren een nieuw ERP-systeem in. Hoe doe ik dat
    samen met het personeel?"); a question without one is asked as a whole (0)."""
    return next((a for a, b in sentence_spans(question, min_chars=1) if question[a:b].rstrip().endswith("?")), 0)


def question_type(question: str) -> str:
    """definition | reason | result | start | example | other: decides the shape of the answer.

    The first type (in the order of question_types.txt) whose pattern matches the whole question or any
    of its clauses, so context before or after the question itself does not hide its type."""
    parts = [question, *clauses(question)]
    for name, patterns in _type_patterns():
        if any(p.search(part) for p in patterns for part in parts):
            return name
    return "other"


# Expected answer types of "hoeveel / hoe lang"-questions: the sentence that answers states a duration,
# a head count or a percentage, not just any number ("in 2019" answers no "hoe lang"). A question
# pattern and the pattern of a sentence that states such an answer; tests in tests/test_query.py.
# Dutch numbers written as words: "zeventig", "vijfentwintig", "dertien", "tweehonderd", "duizenden".
NUMBER_WORD = (r"(?:(?:een|één|twee|drie|vier|vijf|zes|zeven|acht|negen)[eë]n)?"
               r"(?:twintig|dertig|veertig|vijftig|zestig|zeventig|tachtig|negentig)"
               r"|(?:der|veer|vijf|zes|zeven|acht|negen)tien|\w*honderd(?:en)?|\w*duizend(?:en)?|miljoen(?:en)?")
_NUMBER = (r"(?:\d[\d.,]*|" + NUMBER_WORD + r"|een|één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|"
           r"enkele|paar|anderhalf|half|one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|"
           r"fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|several)")
# A sentence stating any number at all: digits or a number word (not "een", which is also "a").
ANY_NUMBER = re.compile(r"\d|\b(?:" + NUMBER_WORD + r"|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|"
                        r"two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|hundreds?|"
                        r"thousands?)\b", re.I)
# People by their trade ("Hoeveel chauffeurs heeft Den Hartogh?" asks a head count as much as "hoeveel mensen").
_STAFF = (r"chauffeurs|monteurs|verpleegkundigen|wijkverpleegkundigen|lassers|timmerlieden|metselaars|vakmensen|"
          r"arbeiders|operators|zorgmedewerkers|verzorgenden|technici|engineers|leerlingen|stagiairs|drivers|nurses|"
          r"workers|technicians|mechanics")
ANSWER_TYPES: dict[str, tuple[re.Pattern, re.Pattern]] = {
    "duration": (
        re.compile(r"\bhoe\s+lang\b|\bhow\s+long\b|\bhoeveel\s+(?:tijd|jaar|jaren|maanden|weken)\b|\bduurt?\b|"
                   r"\bduurde\b|\bgeduurd\b", re.I),
        re.compile(r"\b" + _NUMBER + r"\s+(?:\w+\s+)?(?:jaar|jaren|maand|maanden|week|weken|dag|dagen|years?|months?|"
                   r"weeks?|days?)\b", re.I)),
    "count": (
        re.compile(r"\bhoeveel\s+(?:\w+\s+)?(?:mensen|medewerkers|werknemers|personeel|man|leden|bedrijven|deelnemers|"
                   r"bewoners|teams?|collega'?s|" + _STAFF + r")\b|\bhoeveel\b[^?]{0,40}?\bin\s+dienst\b|\bhow\s+many\b|"
                   r"\bhoe\s+groot\b|\bomvang\b", re.I),
        re.compile(r"\b" + _NUMBER + r"\s+(?:\w+\s+){0,2}?(?:mensen|medewerkers|werknemers|personen|man|fte|leden|"
                   r"bedrijven|ondernemingen|deelnemers|bewoners|teams?|employees|people|staff|" + _STAFF + r")\b", re.I)),
    "percent": (
        re.compile(r"\bprocent\b|\bpercentage\b|%|\bper\s*cent\b", re.I),
        re.compile(r"\d+(?:[.,]\d+)?\s*(?:%|procent|percent)", re.I)),
}


def answer_type(question: str) -> str:
    """"duration" | "count" | "percent" when the question asks for that kind of figure, else ""."""
    return next((name for name, (asks, _) in ANSWER_TYPES.items() if asks.search(question)), "")


def states_answer_type(text: str, kind: str) -> bool:
    """Whether a sentence states the figure an answer type wants ("zo'n zeven jaar", "65 mensen")."""
    return bool(kind) and bool(ANSWER_TYPES[kind][1].search(text))


# Words that always refer back ("Hoeveel mensen werken daar?", "Wat doen ze?"). Demonstratives (die, dat,
# deze, dit, that, this) refer back only as a determiner or pronoun near the start of the question or
# after a verb or preposition; after a noun they open a relative clause ("bedrijven die willen
# automatiseren", "companies that automate") and the question stands on its own.
_STRONG_REFERRING = frozenset(
    "daar daarvan daarna daarvoor daarbij daarin daarmee daarop hier hierbij hiervan hiervoor ze zij hun hen "
    "hem zoiets zo'n dezelfde diezelfde they them their it its such".split()
)
_DEMONSTRATIVES = frozenset("die dat deze dit those these that this".split())
_CONTINUATIONS = ("en ", "and ", "maar ", "but ", "ook ", "also ", "what about ", "en wat ", "hoe zit het met ")


def needs_context(question: str) -> bool:
    """Whether a question refers back to earlier turns instead of standing on its own."""
    q = question.strip().lower()
    words = _WORD.findall(q)
    if not words:
        return False
    if q.startswith(_CONTINUATIONS) or any(w in _STRONG_REFERRING for w in words):
        return True
    # "work there" refers back; "is there", "there are" only say something exists.
    be = ("is", "are", "was", "were")
    if any(w == "there" and not ((i and words[i - 1] in be) or (i + 1 < len(words) and words[i + 1] in be))
           for i, w in enumerate(words)):
        return True
    before = word_list("refer_after")
    # A demonstrative right after another one is the relative clause's object: "een bedrijf dat dat al
    # gedaan heeft", "bedrijven die dit toepassen" refer back to what was asked before.
    return any(w in _DEMONSTRATIVES and (i < 3 or words[i - 1] in before or words[i - 1] in _DEMONSTRATIVES)
               for i, w in enumerate(words))


@lru_cache(maxsize=None)
def thesaurus() -> tuple[dict[str, str], dict[str, str]]:
    """The domain thesaurus (assistant/data/thesaurus.txt): phrase -> "term|term", and the entries
    matched case-sensitively (abbreviations such as "OR" that are common words in lower case)."""
    plain: dict[str, str] = {}
    cased: dict[str, str] = {}
    target = plain
    for n, raw in enumerate((DATA_DIR / "thesaurus.txt").read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "[cased]":
            target = cased
            continue
        phrase, sep, terms = line.partition("=")
        if not sep or not phrase.strip() or not terms.strip():
            raise ValueError(f"thesaurus.txt line {n}: expected `phrase = term|term`, got {raw!r}.")
        target[phrase.strip() if target is cased else phrase.strip().lower()] = terms.strip()
    return plain, cased


@lru_cache(maxsize=None)
def _thesaurus_patterns() -> tuple[re.Pattern, re.Pattern]:
    plain, cased = thesaurus()
    words = "|".join(re.escape(k) for k in sorted(plain, key=len, reverse=True))
    return (re.compile(r"(?<!\w)(" + words + r")(?!\w)"),
            re.compile(r"(?<!\w)(" + "|".join(re.escape(k) for k in cased) + r")(?!\w)"))


def _expansions(query: str) -> list[tuple[int, int, str, str]]:
    """(start, end, phrase, added terms) for every thesaurus phrase in the query."""
    plain, cased = thesaurus()
    plain_re, cased_re = _thesaurus_patterns()
    found = [(m.start(), m.end(), m.group(1), plain[m.group(1)]) for m in plain_re.finditer(query.lower())]
    found += [(m.start(), m.end(), m.group(1), cased[m.group(1)]) for m in cased_re.finditer(query)]
    return sorted(found)


def expand_query(query: str) -> str:
    """The query plus the thesaurus terms for the phrases it contains (what both searches look for)."""
    extra = [terms.replace("|", " ") for _, _, _, terms in _expansions(query)]
    return " ".join([query, *extra]) if extra else query


_QUESTION_WORDS = frozenset(
    "wat wie waar wanneer waarom hoe hoeveel welk welke kun kan kunnen moet moeten mag vertel eens graag "
    "what who where when why how which tell me about please can could should does do is are".split()
)
_ENTITY = re.compile(r"\b[A-Z][\w&'-]*[A-Z0-9][\w&'-]*\b|(?<![.?!]\s)(?<!^)\b[A-Z][a-z][\w'-]*")


def entities(text: str) -> list[str]:
    """Proper names in a turn: capitalised words not at the start of a sentence, and acronyms (SER, QRM)."""
    return [m.group(0) for m in _ENTITY.finditer(text.strip())]


def carried_terms(question: str, history: Sequence[str] = ()) -> str:
    """What a follow-up carries over from the earlier user turns, without an LLM ("" when nothing).

    When the question refers back ("daar", "ze", "En Finland?"), the key terms of the most recent
    earlier turn are carried: its names and content words, minus names when the new question brings
    its own ("En Finland?" after "Duitsland" drops "Duitsland"). The user's words are never translated.
    """
    question = question.strip()
    turns = [t.strip() for t in history if t and t.strip()]
    if not turns or not needs_context(question):
        return ""
    previous = turns[-1]
    own_names = entities(question)
    names = [] if own_names else entities(previous)
    name_words = {w.lower() for n in entities(previous) for w in _WORD.findall(n)}
    stop = stopwords() | _QUESTION_WORDS
    keep = [w for w in _WORD.findall(previous) if w.lower() not in stop and w.lower() not in name_words]
    return " ".join(dict.fromkeys(names + keep))


def condense(question: str, history: Sequence[str] = ()) -> str:
    """The follow-up made self-contained: the question, then in brackets what it carries over."""
    return _with_carried(question, carried_terms(question, history))


def _with_carried(question: str, carried: str) -> str:
    question = question.strip()
    return f"{question} ({carried})" if carried else question


@dataclass(frozen=True)
class QueryAnalysis:
    """What the answer step needs to know about a question besides its words."""

    language: str
    type: str
    follow_up: bool


def analyse(question: str, history_given: bool = False) -> QueryAnalysis:
    return QueryAnalysis(detect_language(question), question_type(question),
                         history_given and needs_context(question))
