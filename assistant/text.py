"""Text analysis shared by chunking, the index build and the answer: one sentence splitter, and the
plain reading of corpus Markdown in quotes.

Offsets always point into the original text, so a quote can be highlighted in its passage.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


@lru_cache(maxsize=None)
def word_list(name: str) -> frozenset[str]:
    """A word list from assistant/data/<name>.txt: one entry per line, `#` starts a comment."""
    lines = (DATA_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(e for line in lines if (e := line.split("#", 1)[0].strip().lower()))


# English function words beyond bm25s's short list (questions may be English; the corpus is Dutch).
_MORE_ENGLISH_STOPWORDS = frozenset("""
about above after again against all am any aren't because been before being below between both can can't cannot
could couldn't did didn't do does doesn't doing don't down during each few from further get gets got had hadn't has
hasn't have haven't having he her here hers herself him himself his how i i'm its itself just let's me more most much
many my myself nor off once only other ought our ours ourselves out over own same she should shouldn't so some than
that's them themselves those through too under until up very wasn't we were weren't what what's when where which
while who whom why won't would wouldn't you your yours yourself yourselves also please tell
""".split())


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Dutch and English function words (bm25s's lists plus more English ones)."""
    from bm25s.stopwords import STOPWORDS_DUTCH, STOPWORDS_EN

    return frozenset(STOPWORDS_DUTCH) | frozenset(STOPWORDS_EN) | _MORE_ENGLISH_STOPWORDS


# A sentence ends at . ! ? or … (optionally followed by a closing quote or bracket) before white space
# or the end of the text, and at a line break (list items, table rows).
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s|$)|\n")
_LIST_MARKER = re.compile(r"(\s*(?:[-*•]|\d+[.)])\s+)")


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Offsets in text[start:end] where a sentence ends (after its closing punctuation, or at a line
    break). A full stop ends a sentence only before white space ("www.example.nl" stays whole) and not
    after a common abbreviation ("o.a.", "bijv.") or an initial ("J."). Shared by chunking and answers."""
    end = len(text) if end is None else end
    abbreviations = word_list("abbreviations")
    ends: list[int] = []
    pos = start
    for m in _BOUNDARY.finditer(text, start, end):
        if m.group(0) != "\n":
            word = text[text.rfind(" ", pos, m.start()) + 1 : m.end()].lower().lstrip("(“\"'*_").rstrip("*_")
            if word in abbreviations or re.fullmatch(r"[a-z]\.", word):
                continue
        ends.append(m.end())
        pos = m.end()
    return ends


def sentence_spans(text: str, min_chars: int = 25, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as (start, end) offsets into `text`; list markers are left out.

    Sentences end where `sentence_ends` says. Spans shorter than `min_chars` or without a word of three
    letters (a lone page number) are dropped.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []

    def add(s: int, e: int) -> None:
        marker = _LIST_MARKER.match(text, s)
        if marker and marker.end() <= e:
            s = marker.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e - s >= min_chars and re.search(r"[^\W\d_]{3}", text[s:e]):
            spans.append((s, e))

    pos = start
    for cut in sentence_ends(text, start, end):
        add(pos, cut)
        pos = cut
    add(pos, end)
    return spans


_EMPHASIS = re.compile(r"(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_HEADING_MARK = re.compile(r"^\s*#{1,6}\s+")
MARKDOWN_ESCAPE = re.compile(r"\\(?=[\\`*_{}\[\]()#+\-.!|<>~])")  # "\\*" means a literal "*": the backslash goes
_LONE_STAR = re.compile(r"(?<=\w)\*(?!\w)|(?<![\w*])\*(?=\w)")


def plain(text: str) -> str:
    """Corpus Markdown as a reader sees it: emphasis markers, link targets and images dropped, words
    kept ("**Aldowa** is …" -> "Aldowa is …", "[SER](https://…)" -> "SER")."""
    previous = None
    while previous != text:  # nested: "[![foto](a)](b)" leaves "![foto](b)" after one pass
        previous, text = text, _LINK.sub(lambda m: m.group(1), text)
    text = _HEADING_MARK.sub("", text)
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(lambda m: m.group(2), text)
    # An emphasis marker whose partner lies in another sentence ("… leren van sociale innovatie elders*.")
    # is dropped too; a star between spaces ("a * b") is no marker and stays; Markdown's backslash
    # escapes ("\\*") show their character.
    return MARKDOWN_ESCAPE.sub("", _LONE_STAR.sub("", text.replace("**", "")))


_SPEAKER = re.compile(r"^\W*[A-Z][\w-]*:\s*")  # "Xavier: “Dat komt doordat …”": the quoted words open it


def opens_with_reference(sentence: str) -> bool:
    """Whether a sentence leans on the one before it for its subject ("Het bedrijf …", "Ze …",
    "Dit …", "Daar …", "Uit onvrede daarmee …"): quoted alone, the reader cannot tell who or what it is
    about."""
    words = re.findall(r"\w+", _SPEAKER.sub("", plain(sentence)).lower())
    if not words:
        return False
    openers = word_list("referring_openers")
    return (words[0] in openers or " ".join(words[:2]) in openers or " ".join(words[:3]) in openers
            or any(w in word_list("referring_adverbs") for w in words[1:3]))
