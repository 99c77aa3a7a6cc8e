"""Maintainer messages in English and Dutch from one source.

A `Message` is an id plus parameters; its text comes from the templates in
`assistant/data/messages.json` ({"<id>": {"en": "...", "nl": "..."}}, `str.format` placeholders).
The CLI prints English (`str(message)` or `message.text("en")`); the app's Beheer tab asks for
Dutch (`message.text("nl")`). Parameters are rendered per language: a nested Message in that
language, a number with that language's separators (2,000 / 2.000; 1.5 / 1,5), a list joined with
", ", an `AndList` joined with " and " / " en ".

Besides warnings and staleness reasons the data file holds the labels of the index build phases
(PHASES, "phase.<key>") and the document counts ("5 documenten, 32 praktijkvoorbeelden",
`count_summary`).
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

LANGUAGES = ("en", "nl")
DATA_FILE = Path(__file__).parent / "data" / "messages.json"

# The phases of an index build, in the order build_index reports them; the `message` argument of
# its progress callback is one of these keys ("phase.<key>" in the data file is its label).
PHASE_FILES = "files"  # reading the corpus files: done/total files
PHASE_PASSAGES = "passages"  # embedding the passages: done/total passages
PHASE_SENTENCES = "sentences"  # embedding the passages' sentences (excerpt units): done/total sentences
PHASE_THEMES = "themes"  # embedding the curated themes' questions and points: done/total texts
PHASE_SAVING = "saving"  # writing the build: done/total passages, plus one step for documents and search index
PHASES = (PHASE_FILES, PHASE_PASSAGES, PHASE_SENTENCES, PHASE_THEMES, PHASE_SAVING)


@lru_cache(maxsize=1)
def templates() -> dict[str, dict[str, str]]:
    """Every message id with its template per language (read once)."""
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


def placeholders(template: str) -> set[str]:
    """The parameter names a template uses: "{file}: {count:,} items" -> {"file", "count"}."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(template):
        if name is not None:
            names.add(name.split(".")[0].split("[")[0])
    return names


class AndList(tuple):
    """A list parameter joined with the language's "and": "a and b" / "a en b"."""


_AND = {"en": " and ", "nl": " en "}


class _Number:
    """A number formatted by a template's spec, with the language's separators (default: thousands)."""

    def __init__(self, value, language: str) -> None:
        self.value, self.language = value, language

    def __format__(self, spec: str) -> str:
        if not spec:
            spec = "," if isinstance(self.value, int) else ""
        text = format(self.value, spec)
        return text.translate(str.maketrans(",.", ".,")) if self.language == "nl" else text


def _render(value: Any, language: str) -> Any:
    if isinstance(value, Message):
        return value.text(language)
    if isinstance(value, AndList):
        return _AND[language].join(str(_render(v, language)) for v in value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_render(v, language)) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _Number(value, language)
    return value


@dataclass(frozen=True)
class Message:
    """One maintainer message: an id from the data file and its parameters."""

    id: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, language: str = "en") -> str:
        """The message in `language` ("en" or "nl"; anything else gives English)."""
        by_language = templates()[self.id]
        template = by_language.get(language) or by_language["en"]
        language = language if language in by_language else "en"
        return template.format_map({k: _render(v, language) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.text("en")


def msg(message_id: str, **params: Any) -> Message:
    """A Message; an unknown id is a KeyError here, not when it is first shown."""
    if message_id not in templates():
        raise KeyError(f"unknown message id {message_id!r}; add it to {DATA_FILE}")
    return Message(message_id, params)


def texts(messages: Iterable[Message], language: str = "en") -> list[str]:
    """The texts of messages in one language."""
    return [m.text(language) for m in messages]


def phase_label(phase: str, language: str = "en") -> str:
    """The label of an index build phase (PHASES): "Bestanden lezen", "Reading files", ..."""
    return msg(f"phase.{phase}").text(language)


def count_summary(documents: int, cases: int, language: str = "en") -> str:
    """"5 documents, 32 practice cases" / "5 documenten, 32 praktijkvoorbeelden" (singular for 1)."""
    parts = [msg(f"count.{what}.{'one' if n == 1 else 'other'}", n=n).text(language)
             for what, n in (("documents", documents), ("cases", cases))]
    return ", ".join(parts)
