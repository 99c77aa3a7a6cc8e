"""Query analysis: what kind of question this is, in which language, and whether it leans on the
conversation before it. Pure functions of the question text; the word lists are data files in
assistant/data/ with table-driven tests (tests/test_query.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.text import DATA_DIR, word_list

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


def question_type(question: str) -> str:
    """definition | reason | result | start | example | other: decides the shape of the answer."""
    for name, patterns in _type_patterns():
        if any(p.search(question) for p in patterns):
            return name
    return "other"


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
    before = word_list("refer_after")
    return any(w in _DEMONSTRATIVES and (i < 3 or words[i - 1] in before) for i, w in enumerate(words))


@dataclass(frozen=True)
class QueryAnalysis:
    """What the answer step needs to know about a question besides its words."""

    language: str
    type: str
    follow_up: bool


def analyse(question: str, history_given: bool = False) -> QueryAnalysis:
    return QueryAnalysis(detect_language(question), question_type(question),
                         history_given and needs_context(question))
