"""The app's state and every handler as a plain method: no Gradio here, so each can be tested directly.
The Beheer tab's actions are an `AdminDesk` (desk.py), `App.admin`.

The tab modules (chat, intake, themes, sources, admin) build the components and turn these methods'
results into Gradio updates. The app reads the index only through the wiring (`Assistant`, `Index`,
`list_cases`, `index_status`, `build_index`), never a corpus folder or a Chroma collection. Admin
methods check the session themselves: a hidden tab is not a security boundary.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Iterator

from assistant import feedback, render
from assistant.feedback import MAX_REASON_CHARS
from assistant.answer import quote
from assistant.config import Settings
from assistant.errors import AssistantError, UserError
from assistant.excerpts import source_label
from assistant.models import SECTORS, Answer, Citation, Filters, Hit
from assistant.pipeline import Assistant, list_cases
from assistant.security import LoginGuard, RateLimit, clean_text
from assistant.ui.desk import AdminDesk

log = logging.getLogger("assistant.ui")

EXAMPLES = [
    "Waar moet ik beginnen?",
    "Welke regelingen zijn er voor het mkb?",
    "Voorbeelden van zelfsturende teams in de bouw",
    "Hoe betrek ik mijn medewerkers bij nieuwe technologie?",
]
INTRO = (
    "Stel een vraag over sociale innovatie: anders organiseren, zelfsturende teams, coachend "
    "leiderschap, leren op het werk. Het antwoord citeert de bronnen letterlijk, elk citaat met "
    "bronvermelding [n]; de bronnen zelf staan naast het gesprek (op een telefoon eronder)."
)
START_QUESTION = "Waar moet ik beginnen met sociale innovatie?"
CHALLENGES = {
    "personeelstekort": "Hoe helpt sociale innovatie bij personeelstekort en het behouden van medewerkers?",
    "nieuwe technologie invoeren": "Hoe betrek ik medewerkers bij het invoeren van nieuwe technologie?",
    "groei": "Hoe organiseer ik het werk anders als mijn bedrijf groeit?",
    "verzuim/werkdruk": "Hoe verminder ik werkdruk en verzuim door het werk anders te organiseren?",
}
# The curated theme (corpus/themes/) each part of the intake's plan leads with.
START_THEME = "theme-waar-begin-ik"
CHALLENGE_GUIDES = {
    "personeelstekort": "theme-personeelstekort", "nieuwe technologie invoeren": "theme-technologie",
    "groei": "theme-zelfsturende-teams", "verzuim/werkdruk": "theme-randvoorwaarden",
}
CHALLENGE_THEMES = {
    "personeelstekort": "duurzame inzetbaarheid", "nieuwe technologie invoeren": "technologie-invoering",
    "groei": "zelfsturende teams", "verzuim/werkdruk": "werkplezier & betrokkenheid",
}
SIZE_CHOICES = [("klein (minder dan 50 medewerkers)", "klein"), ("middelgroot (50 tot 250)", "middel"),
                ("groot (meer dan 250)", "groot")]
ALL = "alle"
VOTES_PER_10_MINUTES = 60
MAX_HISTORY_MESSAGES = 40
# Longest question the chat reads (longer input is cut, never stored or searched whole).
MAX_QUESTION_CHARS = 2000
# What a dislike can say, besides a free text (stored with the vote; read by advisors in Beheer).
DISLIKE_REASONS = ("Klopt niet", "Niet relevant", "Te lang", "Te vaag", "Bron ontbreekt")


def message_text(content: Any) -> str:
    """The text of a chat message's content: a string, or (Gradio 6) a list of parts such as
    {"type": "text", "text": "…"}; files and other parts carry no text."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "") if content.get("type", "text") == "text" else ""
    if isinstance(content, (list, tuple)):
        return " ".join(t for t in (message_text(part) for part in content) if t)
    return ""


def user_turns(history: list) -> list[str]:
    """The user's earlier questions, oldest first, whatever shape Gradio gives the messages in."""
    turns = [message_text(m.get("content")) for m in history if isinstance(m, dict) and m.get("role") == "user"]
    return [t for t in turns if t.strip()]


def client_address(request) -> str:
    """The client's address as the server sees it (behind a proxy: the proxy's)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "?")


def choice(value: str | None) -> str | None:
    """A filter dropdown's value: None for "alle" or nothing chosen."""
    return None if value in (None, "", ALL) else value


@dataclass
class Turn:
    """One question of a conversation and the answer shown for it."""

    question: str
    answer: Answer


class App:
    """The app's state that outlives one request: the assistant, the login guard, the feedback store."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None, guard: LoginGuard | None = None) -> None:
        self.settings = settings
        self.assistant = assistant or Assistant(settings)
        self.guard = guard or LoginGuard()
        self.vote_limit = RateLimit(count=VOTES_PER_10_MINUTES, seconds=600.0)  # per client address
        self._lock = threading.Lock()
        self._votes: feedback.FeedbackStore | None = None
        self.admin = AdminDesk(settings, self.guard, self.votes)  # the Beheer tab's actions

    # --- the live build ----------------------------------------------------------------------
    def documents(self) -> dict:
        """The live build's documents (stored with the build, so every app process on every machine shows
        the same texts its citations point into); cached per build by the index."""
        try:
            return self.assistant.index.documents()
        except AssistantError as e:
            log.error("documents not readable: %s", e)
            return {}

    def themes(self):
        """The curated themes checked against the live build, or None (logged) when they cannot be read."""
        try:
            return self.assistant.themes()
        except AssistantError as e:
            log.error("themes not readable: %s", e)
            return None

    def theme_choices(self) -> list[tuple[str, str]]:
        library = self.themes()
        return [(t.title, t.id) for t in library.themes] if library else []

    def theme_view(self, theme_id: str | None) -> str:
        """A theme's page (each quote with its own "open in document" action)."""
        library = self.themes()
        theme = library.get(theme_id or "") if library else None
        if theme is None:
            return render.placeholder("theme")
        placed = library.placed.get(theme.id, [])
        related = [t for t in (library.get(r) for r in theme.related) if t is not None]
        return render.theme_html(theme, placed, self.documents(), related)

    def sector_points(self, sector: str | None, limit: int = 3) -> list:
        """Theme points whose practice case is a company of this sector, each source passage once."""
        library = self.themes()
        if not sector or library is None:
            return []
        documents = self.documents()
        found, seen = [], set()
        for theme in library.themes:
            for p in library.placed.get(theme.id, []):
                case = documents.get(p.point.case_id or "")
                if case is not None and case.meta.get("sector") == sector and p.hit.chunk_id not in seen:
                    seen.add(p.hit.chunk_id)
                    found.append(p)
        return found[:limit]

    def open_target(self, target: str | None, turns: dict | None = None) -> Citation | None:
        """What a card's "open in document" action points at, as a citation to show in the viewer:
        "chunk:<id>" (a passage: the one in the last answer, with its used sentences, or from the index),
        "point:<theme id>:<n>" (a theme's quote) or "span:<doc id>:<start>:<end>" (a case's report section)."""
        kind, _, rest = (target or "").partition(":")
        if kind == "chunk" and rest:
            last = last_turn(turns or {})
            found = next((c for c in last.answer.citations if c.chunk_id == rest), None) if last else None
            return found or self.assistant.index.passage(rest)
        if kind == "point":
            return self._theme_citation(rest)
        if kind == "span":
            doc_id, _, offsets = rest.partition(":")
            start, _, end = offsets.partition(":")
            doc = self.documents().get(doc_id)
            if doc is None or not (start.isdigit() and end.isdigit()) or not 0 <= int(start) < int(end) <= len(doc.text):
                return None
            return Citation(n=0, chunk_id="", doc_id=doc.id, title=doc.title, section="", kind=doc.kind,
                            text=doc.text[int(start):int(end)], start=int(start), end=int(end))
        return None

    def _theme_citation(self, value: str) -> Citation | None:
        library = self.themes()
        theme_id, _, number = value.partition(":")
        placed = library.placed.get(theme_id, []) if library else []
        if not number.isdigit() or not 1 <= int(number) <= len(placed):
            return None
        return point_citation(int(number), placed[int(number) - 1])

    def document_view(self, doc_id: str | None, citation: Citation | None = None) -> str:
        doc = self.documents().get(doc_id or "")
        if doc is None:
            return render.placeholder("document")
        if citation is None:
            return render.document_html(doc)
        return render.document_html(doc, citation.start, citation.end, citation.spans)

    def document_choices(self) -> list[tuple[str, str]]:
        docs = sorted(self.documents().values(), key=lambda d: (d.kind == "case", d.title))
        return [(d.title, d.id) for d in docs]

    # --- chat --------------------------------------------------------------------------------
    def ask_stream(self, question: str, earlier: list[str]) -> Iterator[str | Answer]:
        """The answer to a question: streamed text pieces (generative mode) while it is made, then the
        Answer. Errors are raised here, in the caller's thread."""
        pieces: queue.Queue = queue.Queue()
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                result["answer"] = self.assistant.ask(question, history=earlier, on_token=pieces.put)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                result["error"] = e
            finally:
                pieces.put(None)

        threading.Thread(target=run, daemon=True).start()
        while (piece := pieces.get()) is not None:
            yield piece
        if "error" in result:
            raise result["error"]
        yield result["answer"]

    # --- intake ------------------------------------------------------------------------------
    def intake(self, sector: str | None, size: str | None, challenge: str | None) -> tuple[str, str]:
        """A first-steps plan: how to begin (for this sector), what helps with the chosen challenge, and
        theme points about companies of the sector; plus the sources and 2-3 matching practice cases.
        Citation numbers run on through the plan."""
        if not challenge or challenge not in CHALLENGES:
            raise UserError("Kies eerst je belangrijkste uitdaging.")
        if sector and sector not in set(intake_sectors()):
            raise UserError("Kies een sector uit de lijst.")
        start = self.assistant.ask(start_question(sector), theme=START_THEME, ours=True)
        specific = self.assistant.ask(CHALLENGES[challenge], theme=CHALLENGE_GUIDES.get(challenge), ours=True)
        specific = specific.renumbered(len(start.citations))
        plan = [f"### Je startplan: {render.escape(challenge)}" + (f" ({render.escape(sector)})" if sector else ""),
                "#### 1. Zo begin je", render.answer_markdown(start),
                f"#### 2. Bij jouw uitdaging: {render.escape(challenge)}", render.answer_markdown(specific)]
        in_sector = self.sector_points(sector)
        parts = [("1", start), ("2", specific)]
        if in_sector:
            sm = render.safe_markdown
            first = len(start.citations) + len(specific.citations) + 1
            cited = [point_citation(n, p) for n, p in enumerate(in_sector, first)]
            plan += [f"#### 3. Uit de thema's: bedrijven in de sector {render.escape(sector)}",
                     "\n".join(f"- {sm(p.point.lead)} — **{sm(source_label(p.hit, p.point.quote))}**"
                               f": {sm(quote(p.point.quote))} [{c.n}]" for p, c in zip(in_sector, cited))]
            parts.append(("3", Answer(text="", citations=cited, cases=[], refused=False, mode="extractive")))
        panels = render.plan_sources_html(parts, self.documents())
        cases = self.matching_cases(sector, size, challenge)
        return "\n\n".join(plan), panels + render.case_list_html(cases, "Praktijkvoorbeelden bij jouw situatie")

    def matching_cases(self, sector: str | None, size: str | None, challenge: str | None) -> list[dict]:
        """2-3 cases: the same sector and size first, then the same sector, then the challenge's theme."""
        tries = []
        if sector and size:
            tries.append(Filters(sector=sector, size_class=size))
        if sector:
            tries.append(Filters(sector=sector))
        tries.append(Filters(theme=CHALLENGE_THEMES.get(challenge or "")))
        found: list[dict] = []
        for f in tries:
            found += [row for row in list_cases(self.settings, f, self.documents()) if row["id"] not in {r["id"] for r in found}]
            if len(found) >= 2:
                break
        return found[:3]

    # --- bronnen -----------------------------------------------------------------------------
    def search(self, query: str, kind: str | None = None, doc: str | None = None, sector: str | None = None,
               k: int = 10) -> list[Hit]:
        query = clean_text(query, MAX_QUESTION_CHARS).strip()
        if not query:
            return []
        filters = Filters(kind=choice(kind), doc_id=choice(doc), sector=choice(sector))
        return self.assistant.index.search(query, k=k, filters=filters)

    def search_view(self, query: str, kind: str | None = None, doc: str | None = None, sector: str | None = None) -> str:
        query = clean_text(query, MAX_QUESTION_CHARS).strip()
        if not query:
            return render.search_results_html(query, [], {})
        return render.search_results_html(query, self.search(query, kind, doc, sector), self.documents())

    def case_rows(self, sector: str | None = None, size: str | None = None, theme: str | None = None) -> list[dict]:
        return list_cases(self.settings, Filters(sector=choice(sector), size_class=choice(size), theme=choice(theme)),
                          self.documents())

    def case_view(self, case_id: str | None) -> str:
        row = next((r for r in list_cases(self.settings, None, self.documents()) if r["id"] == case_id), None)
        return render.case_html(row) if row else ""

    # --- feedback ----------------------------------------------------------------------------
    def votes(self) -> feedback.FeedbackStore:
        """The feedback store, opened at the first vote or read (not when the page is built)."""
        with self._lock:
            if self._votes is None:
                self._votes = feedback.open_feedback(self.settings)
            return self._votes

    def vote(self, turn: Turn, liked: bool, client: str, session_id: str | None, reason: str = "") -> None:
        """Store a like or dislike (with an optional reason). One vote per answer per session: a second
        click replaces the first (enforced by the database; the key is the answer itself, never the
        index the client sends)."""
        if not self.vote_limit.allow(client):
            log.warning("feedback refused for %s: too many votes", client)
            raise UserError("Je hebt in korte tijd veel beoordelingen gegeven; probeer het over een paar minuten opnieuw.")
        answer = turn.answer
        digest = hashlib.sha256(f"{turn.question}\n{answer.text}".encode("utf-8", "replace")).hexdigest()[:24]
        try:
            self.votes().record(liked=liked, question=turn.question, answer=answer, session_id=session_id or client,
                                answer_key=f"{answer.build_id}:{digest}",
                                reason=clean_text(reason, MAX_REASON_CHARS).strip())
        except AssistantError as e:
            log.error("feedback not stored: %s", e)
            raise UserError("Je feedback kon niet worden opgeslagen; probeer het later nog eens.") from e


def point_citation(n: int, placed) -> Citation:
    """A theme point's source passage as citation [n], its quote highlighted."""
    citation = Citation.from_hit(n, placed.hit)
    citation.spans.append(placed.span)
    return citation


def last_turn(turns: dict) -> Turn | None:
    """The newest answered turn of a conversation ({chat message index: Turn})."""
    return turns[max(turns)] if turns else None


def start_question(sector: str | None) -> str:
    """The intake's first question, for the chosen sector ("… in de sector voeding?")."""
    return f"{START_QUESTION[:-1]} in de sector {sector}?" if sector else START_QUESTION


def intake_sectors() -> list[str]:
    """The sectors an entrepreneur can choose (every sector but "sectoroverstijgend")."""
    return [s for s in SECTORS if s != "sectoroverstijgend"]
