"""The Gradio app: Chat and "Waar begin ik?" for entrepreneurs, Bronnen for advisors, Beheer for maintainers.

Everything a user reads is Dutch (English answers for English questions). Corpus and user text is
HTML-escaped wherever it is rendered (assistant/render.py). Admin handlers check the session's
login themselves: a hidden tab is not a security boundary, its events are callable over the API.
"""

from __future__ import annotations

import hashlib
import html
import logging
import queue
import threading
from pathlib import Path
from typing import Any

from assistant import feedback, render
from assistant.admin import REPLACE_LABEL, UploadError, password_ok, save_upload
from assistant.security import LoginGuard, RateLimit, SecurityMiddleware, clean_text
from assistant.config import Settings
from assistant.errors import AssistantError, StoreError
from assistant.models import SECTORS, SIZE_CLASSES, THEMES, DOCUMENT_KINDS, Answer, Citation, Filters
from assistant.answer import quote
from assistant.excerpts import source_label
from assistant.pipeline import Assistant, build_index, index_status, list_cases

log = logging.getLogger(__name__)

EXAMPLES = [
    "Waar moet ik beginnen?",
    "Welke regelingen zijn er voor het mkb?",
    "Voorbeelden van zelfsturende teams in de bouw",
    "How do I involve staff when introducing new technology?",
]
INTRO = (
    "Stel een vraag over sociale innovatie: anders organiseren, zelfsturende teams, coachend "
    "leiderschap, leren op het werk. Het antwoord citeert de bronnen letterlijk, elk citaat met "
    "bronvermelding [n]; rechts staan de bronnen zelf."
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
CSS = """
.ww-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin: 6px 0; }
.ww-card-head { font-weight: 600; }
.ww-card-kind { font-size: 0.85em; color: #57606a; margin-bottom: 4px; }
.ww-card-text { font-size: 0.92em; max-height: 16em; overflow-y: auto; }
.ww-case { background: #f6f8fa; }
mark { background: #fff3a3; padding: 0 1px; }
.ww-selected { background: #eef6ff; display: block; padding: 4px; border-left: 3px solid #0969da; }
.ww-doc-text { max-height: 70vh; overflow-y: auto; }
.ww-theme-summary { background: #f6f8fa; }
.ww-point-lead { font-weight: 600; margin-top: 10px; }
.ww-quote { margin: 4px 0; padding-left: 8px; border-left: 3px solid #d0d7de; }
.ww-outline li.ww-l3 { margin-left: 1em; } .ww-outline li.ww-l4 { margin-left: 2em; }
"""
SCROLL_TO_SELECTION = "() => { setTimeout(() => document.getElementById('ww-selected')?.scrollIntoView({block: 'center'}), 300); }"


class App:
    """The app's state that outlives one request: the assistant, the documents, the settings."""

    def __init__(self, settings: Settings, assistant: Assistant | None = None) -> None:
        self.settings = settings
        self.assistant = assistant or Assistant(settings)
        self._lock = threading.Lock()

    def documents(self) -> dict:
        """The live build's documents (stored with the build, so every app process on every machine shows
        the same texts its citations point into); cached per build by the index."""
        try:
            return self.assistant.index.documents()
        except AssistantError as e:
            log.error("documents not readable: %s", e)
            return {}

    def find_citation(self, chunk_id: str) -> Citation | None:
        """A passage by chunk id as a citation (offsets into its document), from the live index."""
        build = self.assistant.index.build()
        got = build.collection.get(ids=[chunk_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        meta, text = got["metadatas"][0], got["documents"][0]
        return Citation(n=0, chunk_id=chunk_id, doc_id=meta["doc_id"], title=meta["title"], section=meta["section"],
                        kind=meta["kind"], text=text, start=int(meta["start"]), end=int(meta["end"]))

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

    def theme_view(self, theme_id: str | None) -> tuple[str, list[tuple[str, str]]]:
        """The theme's page and (label, "theme id:point number") choices for opening its quotes."""
        library = self.themes()
        theme = library.get(theme_id or "") if library else None
        if theme is None:
            return '<div class="ww-theme">Kies een thema.</div>', []
        placed = library.placed.get(theme.id, [])
        related = [t for t in (library.get(r) for r in theme.related) if t is not None]
        choices = [(f"{i}. {p.point.lead}", f"{theme.id}:{i}") for i, p in enumerate(placed, 1)]
        return render.theme_html(theme, placed, self.documents(), related), choices

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

    def theme_citation(self, value: str | None) -> Citation | None:
        """The source passage of a theme point ("theme id:point number"), its quote highlighted."""
        library = self.themes()
        theme_id, _, number = (value or "").partition(":")
        placed = library.placed.get(theme_id, []) if library else []
        if not number.isdigit() or not 1 <= int(number) <= len(placed):
            return None
        p = placed[int(number) - 1]
        citation = Citation.from_hit(int(number), p.hit)
        citation.spans.append(p.span)
        return citation

    def document_view(self, doc_id: str | None, citation: Citation | None = None) -> str:
        doc = self.documents().get(doc_id or "")
        if doc is None:
            return '<div class="ww-doc">Kies een document.</div>'
        if citation is None:
            return render.document_html(doc)
        return render.document_html(doc, citation.start, citation.end, citation.spans)


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


def _user_turns(history: list) -> list[str]:
    """The user's earlier questions, oldest first, whatever shape Gradio gives the messages in."""
    turns = [message_text(m.get("content")) for m in history if isinstance(m, dict) and m.get("role") == "user"]
    return [t for t in turns if t.strip()]


VOTES_PER_10_MINUTES = 60
MAX_HISTORY_MESSAGES = 40
# Longest question the chat reads (longer input is cut, never stored or searched whole).
MAX_QUESTION_CHARS = 2000


def client_address(request) -> str:
    """The client's address as the server sees it (behind a proxy: the proxy's)."""
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "?")


def _error(message: str):
    """A message for the user in a red box; an expected refusal, so no traceback in the log."""
    import gradio as gr

    # The toast renders HTML: messages quote file names and front matter, so they are escaped.
    return gr.Error(html.escape(message, quote=False), print_exception=False)


def build_app(settings: Settings, assistant: Assistant | None = None, guard: LoginGuard | None = None):
    import gradio as gr

    app = App(settings, assistant)
    guard = guard or LoginGuard()
    vote_limit = RateLimit(count=VOTES_PER_10_MINUTES, seconds=600.0)  # per client address: bounds a vote flood
    opened: list = []

    def hints(fn):
        """Gradio injects gr.Request / gr.LikeData by the annotation, which postponed annotations turn
        into strings it cannot resolve here (gradio is imported in this function): resolve them."""
        known = {"gr.Request": gr.Request, "gr.LikeData": gr.LikeData}
        fn.__annotations__ = {k: known.get(v, v) if isinstance(v, str) else v for k, v in fn.__annotations__.items()}
        return fn

    def votes():
        """The feedback store, opened at the first vote or read (not when the page is built)."""
        with app._lock:
            if not opened:
                opened.append(feedback.open_feedback(settings))
            return opened[0]

    # --- chat ------------------------------------------------------------------------------
    def respond(message: str, history: list, answers: dict):
        message = clean_text(message, MAX_QUESTION_CHARS)
        history = list(history or [])[-MAX_HISTORY_MESSAGES:]  # the conversation is echoed back: bounded
        earlier = [clean_text(t, MAX_QUESTION_CHARS) for t in _user_turns(history)[-3:]]
        history = list(history) + [{"role": "user", "content": message}]
        tokens: queue.Queue = queue.Queue()
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                result["answer"] = app.assistant.ask(message, history=earlier, on_token=tokens.put)
            except AssistantError as e:
                result["error"] = e
            except Exception as e:  # shown in the chat, logged with its traceback
                log.exception("answer failed")
                result["error"] = e
            finally:
                tokens.put(None)

        threading.Thread(target=run, daemon=True).start()
        streamed = ""
        yield history + [{"role": "assistant", "content": "…"}], answers, gr.update(), gr.update(), "", gr.update()
        while (token := tokens.get()) is not None:
            streamed += token
            yield history + [{"role": "assistant", "content": render.answer_markdown(_partial(streamed))}], \
                answers, gr.update(), gr.update(), "", gr.update()
        if "error" in result:
            error = result["error"]
            if isinstance(error, StoreError):
                text = ("De bronnen zijn op dit moment niet bereikbaar, dus ik kan nu niet antwoorden. Probeer het zo "
                        "nog eens; blijft dit zo, meld het dan aan de beheerder. (" + render._e(error) + ")")
            else:
                text = "Er ging iets mis bij het beantwoorden: " + render._e(error)
            yield history + [{"role": "assistant", "content": text}], answers, gr.update(), gr.update(), "", gr.update()
            return
        answer: Answer = result["answer"]
        history = history + [{"role": "assistant", "content": render.answer_markdown(answer)}]
        answers = {**answers, len(history) - 1: {"question": message, "answer": answer}}
        choices = render.citation_choices(answer)
        yield (history, answers, render.sources_panel(answer),
               gr.update(choices=choices, value=choices[0][1] if choices else None), "", theme_button(answer))

    def theme_button(answer: Answer):
        """The "open the theme" button under the sources, for an answer that used a curated theme."""
        if not answer.theme:
            return gr.update(visible=False, value="")
        return gr.update(visible=True, value=f"Open het thema ‘{answer.theme['title']}’")

    def open_answer_theme(answers: dict):
        entry = last_answer(answers)
        theme = entry["answer"].theme if entry else None
        if not theme:
            return gr.update(), gr.update(), gr.update(), gr.update()
        view, choices = app.theme_view(theme["id"])
        return (gr.Tabs(selected="themas"), gr.update(value=theme["id"]), view,
                gr.update(choices=choices, value=choices[0][1] if choices else None))

    def show_theme(theme_id: str | None):
        view, choices = app.theme_view(theme_id)
        return view, gr.update(choices=choices, value=choices[0][1] if choices else None)

    def open_theme_point(value: str | None):
        citation = app.theme_citation(value)
        if citation is None:
            return gr.update(), gr.update(), gr.update(), gr.update()
        return (gr.Tabs(selected="bronnen"), gr.Tabs(selected="document"), gr.update(value=citation.doc_id),
                app.document_view(citation.doc_id, citation))

    @hints
    def on_like(data: gr.LikeData, answers: dict, request: gr.Request):
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        entry = answers.get(index)
        if entry is None:
            return
        answer: Answer = entry["answer"]
        if not vote_limit.allow(client_address(request)):
            log.warning("feedback refused for %s: too many votes", client_address(request))
            raise _error("Je hebt in korte tijd veel beoordelingen gegeven; probeer het over een paar minuten opnieuw.")
        # One vote per answer per session: a second click replaces the first (enforced by the database).
        # The key is the answer itself (not the index the client sends): asking again and voting again
        # in the same session replaces the vote.
        digest = hashlib.sha256(f"{entry['question']}\n{answer.text}".encode("utf-8", "replace")).hexdigest()[:24]
        key = f"{answer.build_id}:{digest}"
        try:
            votes().record(liked=bool(data.liked), question=entry["question"], answer=answer,
                         session_id=getattr(request, "session_hash", None) or client_address(request), answer_key=key)
        except AssistantError as e:
            log.error("feedback not stored: %s", e)
            raise _error("Je feedback kon niet worden opgeslagen; probeer het later nog eens.") from e
        gr.Info("Bedankt, je feedback is opgeslagen.")

    def last_answer(answers: dict) -> dict | None:
        return answers[max(answers)] if answers else None

    def export(answers: dict):
        entry = last_answer(answers)
        if entry is None:
            return gr.update(value="Nog geen antwoord om te kopiëren.", visible=True)
        return gr.update(value=render.export_markdown(entry["question"], entry["answer"]), visible=True)

    def open_cited(chunk_id: str | None, answers: dict):
        citation = None
        entry = last_answer(answers)
        if entry and chunk_id:
            citation = next((c for c in entry["answer"].citations if c.chunk_id == chunk_id), None)
        if citation is None and chunk_id:
            citation = app.find_citation(chunk_id)
        if citation is None:
            return gr.update(), gr.update(), gr.update(), gr.update()
        return (gr.Tabs(selected="bronnen"), gr.Tabs(selected="document"),
                gr.update(value=citation.doc_id), app.document_view(citation.doc_id, citation))

    # --- intake ------------------------------------------------------------------------------
    def intake(sector: str | None, size: str | None, challenge: str | None):
        if not challenge:
            return "Kies eerst je belangrijkste uitdaging.", ""
        start = app.assistant.ask(START_QUESTION, theme=START_THEME)
        specific = app.assistant.ask(CHALLENGES[challenge], theme=CHALLENGE_GUIDES.get(challenge))
        plan = [f"### Je startplan: {render._e(challenge)}", "#### 1. Zo begin je", render.answer_markdown(start),
                f"#### 2. Bij jouw uitdaging: {render._e(challenge)}", render.answer_markdown(specific)]
        in_sector = app.sector_points(sector)
        if in_sector:
            plan += [f"#### 3. Uit de thema's: bedrijven in de sector {render._e(sector)}",
                     "\n".join(f"- {render.safe_markdown(p.point.lead)} — **{render.safe_markdown(source_label(p.hit, p.point.quote))}**"
                               f": {render.safe_markdown(quote(p.point.quote))}" for p in in_sector)]
        panels = ["<h3>Bronnen bij 1</h3>", render.sources_panel(start), "<h3>Bronnen bij 2</h3>",
                  render.sources_panel(specific)]
        return "\n\n".join(plan), "".join(panels) + _cases_html(_matching_cases(sector, size, challenge))

    def _matching_cases(sector, size, challenge) -> list[dict]:
        """2-3 cases: the same sector and size first, then the same sector, then the challenge's theme."""
        tries = []
        if sector and size:
            tries.append(Filters(sector=sector, size_class=size))
        if sector:
            tries.append(Filters(sector=sector))
        tries.append(Filters(theme=CHALLENGE_THEMES.get(challenge or "")))
        found: list[dict] = []
        for f in tries:
            found += [row for row in list_cases(settings, f, app.documents()) if row["id"] not in {r["id"] for r in found}]
            if len(found) >= 2:
                break
        return found[:3]

    def _cases_html(rows: list[dict]) -> str:
        if not rows:
            return ""
        cards = ["<h3>Praktijkvoorbeelden bij jouw situatie</h3>"]
        for r in rows:
            size = r.get("employees") or r.get("size_class")
            source = r.get("source") or {}
            cards.append(
                f'<div class="ww-card ww-case"><div class="ww-card-head">{render._e(r["title"])}</div>'
                f'<div class="ww-card-kind">{render._e(r["sector"])}, {render._e(size)}; bron: '
                f'{render._e(source.get("title", ""))} › {render._e(source.get("section", ""))}</div>'
                f'<div class="ww-card-text">{render._e(r["did"])}</div></div>')
        return "".join(cards)

    # --- bronnen -----------------------------------------------------------------------------
    def search_corpus(query: str, kind: str, doc: str, sector: str):
        query = clean_text(query, MAX_QUESTION_CHARS).strip()
        if not query:
            return [], gr.update(choices=[], value=None)
        filters = Filters(kind=None if kind == ALL else kind, doc_id=None if doc == ALL else doc,
                          sector=None if sector == ALL else sector)
        hits = app.assistant.index.search(query[:2000], k=10, filters=filters)
        rows = [[i, round(h.score, 4), round(h.meta.get("dense_score") or 0, 3), h.title, h.section, h.kind,
                 " ".join(h.text.split())[:300]] for i, h in enumerate(hits, 1)]
        choices = [(f"{i}. {h.title}" + (f" › {h.section}" if h.section else ""), h.chunk_id) for i, h in enumerate(hits, 1)]
        return rows, gr.update(choices=choices, value=choices[0][1] if choices else None)

    def open_hit(chunk_id: str | None):
        citation = app.find_citation(chunk_id) if chunk_id else None
        if citation is None:
            return gr.update(), gr.update(), gr.update()
        return gr.Tabs(selected="document"), gr.update(value=citation.doc_id), app.document_view(citation.doc_id, citation)

    def case_table(sector: str, size: str, theme: str):
        rows = list_cases(settings, Filters(sector=None if sector == ALL else sector,
                                            size_class=None if size == ALL else size,
                                            theme=None if theme == ALL else theme), app.documents())
        table = [[r["organisation"], r["sector"], r["employees"] or r["size_class"], ", ".join(r["themes"]), r["title"]]
                 for r in rows]
        return table, gr.update(choices=[(r["title"], r["id"]) for r in rows], value=rows[0]["id"] if rows else None)

    def show_case(case_id: str | None) -> str:
        row = next((r for r in list_cases(settings, None, app.documents()) if r["id"] == case_id), None)
        if row is None:
            return ""
        source = row.get("source") or {}
        return (f'<div class="ww-card ww-case"><div class="ww-card-head">{render._e(row["title"])}</div>'
                f'<div class="ww-card-kind">{render._e(row["sector"])} · {render._e(row["employees"] or row["size_class"])}'
                f' · {render._e(", ".join(row["themes"]))}</div>'
                f'<div class="ww-card-text">{render._e(row["text"])}</div>'
                f'<div class="ww-card-kind">Bron: {render._e(source.get("title", "?"))} › '
                f'{render._e(source.get("section", "?"))}</div></div>')

    @hints
    def feedback_rows(session, request: gr.Request):
        """The feedback log, for a logged-in admin only (it holds what visitors asked)."""
        require(session, request)
        try:
            rows = votes().rows(limit=500)
        except AssistantError as e:
            log.error("feedback not readable: %s", e)
            raise _error("Het feedbacklog kan nu niet worden gelezen; zie het serverlog.") from e
        return [[r.get("time"), "goed" if r.get("liked") else "niet goed", r.get("question"),
                 " ".join(str(r.get("answer", "")).split())[:200], r.get("build_id")] for r in rows]

    # --- beheer ------------------------------------------------------------------------------
    @hints
    def login(password: str, request: gr.Request):
        client = client_address(request)
        # A locked-out client is refused (and logged) by the guard whatever the password.
        session = guard.attempt(client, password_ok(clean_text(password, 1000), settings.admin_password))
        if session is None:
            locked = guard.locked(client)
            text = (f"Te veel mislukte pogingen. Probeer het over {max(1, round(locked / 60))} minuten opnieuw."
                    if locked else "Onjuist wachtwoord.")
            return None, gr.update(visible=False), text, "", []
        minutes = round(guard.session_seconds / 60)
        return (session, gr.update(visible=True), f"Ingelogd (de sessie verloopt na {minutes} minuten).", status_text(),
                feedback_rows(session, request))

    def require(session, request) -> None:
        """Admin handlers check the login themselves: it must be live and from the client that logged in."""
        if not guard.valid(session, client_address(request)):
            raise _error("Log eerst (opnieuw) in met het beheerderswachtwoord.")

    sm = render.safe_markdown

    def status_text() -> str:
        s = index_status(settings)
        if not s.exists:
            return "Er is nog geen index."
        emb = s.embedder or {}
        # Reasons and warnings quote corpus files (names, front matter): never live Markdown or HTML.
        lines = [f"**Build** {sm(s.build_id)} · gebouwd {sm(s.built_at)}",
                 f"**Embedder** {sm(emb.get('backend'))}:{sm(emb.get('model'))} · **{len(s.documents)} documenten**, "
                 f"**{s.chunks} passages**",
                 "**Actueel**" if not s.stale else "**Verouderd:** " + sm("; ".join(s.stale_reasons))]
        lines += [f"- waarschuwing: {sm(w)}" for w in s.warnings]
        return "\n\n".join(lines)

    @hints
    def reindex(session, request: gr.Request, full: bool, progress=gr.Progress()):
        require(session, request)

        def on_progress(done: int, total: int, message: str) -> None:
            progress((done, total) if total else 0, desc="Passages insluiten")

        try:
            result = build_index(settings, rebuild=full, progress=on_progress)
        except AssistantError as e:
            raise _error(str(e)) from e
        done = (f"Index is al actueel ({result.chunks} passages)." if result.up_to_date else
                f"Klaar: {len(result.added)} toegevoegd, {len(result.changed)} gewijzigd, {len(result.removed)} "
                f"verwijderd; {result.embedded} passages en {result.sentences} zinnen ingesloten in {result.seconds:.0f} s.")
        warnings = "".join(f"\n\n- waarschuwing: {sm(w)}" for w in result.warnings)
        return done + warnings, status_text()

    @hints
    def upload(session, file, replace: bool, request: gr.Request, progress=gr.Progress()):
        require(session, request)
        if file is None:
            raise _error("Kies eerst een bestand (.md, .txt of .pdf).")
        path = Path(file if isinstance(file, str) else file.name)
        original = Path(getattr(file, "orig_name", None) or path.name).name
        try:
            saved = save_upload(path, original, settings.corpus_dir, settings.upload_max_bytes, replace=bool(replace),
                                chunking=settings.chunking, max_passages=settings.document_passage_limit)
        except UploadError as e:
            raise _error(str(e)) from e
        finally:
            path.unlink(missing_ok=True)  # the upload's temporary copy: the corpus holds the checked file
        message, status = reindex(session, request, False, progress)
        verb = "vervangen" if saved.replaced else "toegevoegd"
        return f"{render._e(saved.path.name)} {verb}. {message}", status

    # --- layout ------------------------------------------------------------------------------
    # Uploaded files Gradio keeps in its cache go after an hour (an admin's upload is copied into the corpus).
    with gr.Blocks(title="Wegwijzer Sociale Innovatie", delete_cache=(600, 3600)) as blocks:
        answers = gr.State({})
        admin_ok = gr.State(None)  # an AdminSession after a login: expires, and belongs to one client
        gr.Markdown("# Wegwijzer Sociale Innovatie\n" + INTRO)
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Gesprek", height=520, elem_id="ww-chat", buttons=["copy"],
                                             feedback_options=("Like", "Dislike"), latex_delimiters=[])
                        with gr.Row():
                            question = gr.Textbox(placeholder="Typ je vraag…", show_label=False, scale=5,
                                                  elem_id="ww-question", max_lines=4)
                            send = gr.Button("Vraag", variant="primary", scale=1, elem_id="ww-send")
                        gr.Markdown("**Voorbeeldvragen**")
                        with gr.Row():
                            example_buttons = [gr.Button(q, size="sm", elem_classes=["ww-example"]) for q in EXAMPLES]
                        export_btn = gr.Button("Kopieer antwoord met bronnen (Markdown)", size="sm", elem_id="ww-export")
                        export_box = gr.Textbox(label="Antwoord met voetnoten", lines=8, visible=False,
                                                buttons=["copy"], elem_id="ww-export-box")
                    with gr.Column(scale=2):
                        sources = gr.HTML(render.sources_panel(None), elem_id="ww-sources")
                        open_choice = gr.Dropdown(label="Bron openen in het document", choices=[], elem_id="ww-open")
                        open_btn = gr.Button("Open in document", size="sm", elem_id="ww-open-btn")
                        theme_btn = gr.Button("", size="sm", visible=False, elem_id="ww-open-theme")
            with gr.Tab("Waar begin ik?", id="intake"):
                gr.Markdown("Drie vragen, dan een eerste stappenplan uit de bronnen met praktijkvoorbeelden.")
                with gr.Row():
                    in_sector = gr.Dropdown([s for s in SECTORS if s != "sectoroverstijgend"], label="Sector",
                                            elem_id="ww-intake-sector")
                    in_size = gr.Dropdown(SIZE_CHOICES, label="Omvang", elem_id="ww-intake-size")
                    in_challenge = gr.Dropdown(list(CHALLENGES), label="Belangrijkste uitdaging",
                                               elem_id="ww-intake-challenge")
                intake_btn = gr.Button("Maak mijn startplan", variant="primary", elem_id="ww-intake-go")
                with gr.Row():
                    plan = gr.Markdown(elem_id="ww-plan")
                    plan_sources = gr.HTML(elem_id="ww-plan-sources")
            with gr.Tab("Thema's", id="themas"):
                gr.Markdown("Gidsen bij de vragen die ondernemers het vaakst stellen. De samenvatting en de kopjes "
                            "zijn door ons geschreven; elk punt citeert letterlijk een bron, die je in het document "
                            "kunt openen.")
                with gr.Row():
                    with gr.Column(scale=1, min_width=240):
                        t_select = gr.Radio(choices=[], label="Thema's", elem_id="ww-theme-select")
                    with gr.Column(scale=3):
                        t_view = gr.HTML('<div class="ww-theme">Kies een thema.</div>', elem_id="ww-theme-view")
                        t_point = gr.Dropdown(label="Citaat openen in het document", choices=[],
                                              elem_id="ww-theme-point")
                        t_open = gr.Button("Open in document", size="sm", elem_id="ww-theme-open")
            with gr.Tab("Bronnen", id="bronnen"):
                with gr.Tabs() as source_tabs:
                    with gr.Tab("Zoeken", id="zoeken"):
                        with gr.Row():
                            s_query = gr.Textbox(label="Zoek in de bronnen", scale=3, elem_id="ww-search")
                            s_kind = gr.Dropdown([ALL, *DOCUMENT_KINDS], value=ALL, label="Soort")
                            s_doc = gr.Dropdown([ALL], value=ALL, label="Document")
                            s_sector = gr.Dropdown([ALL, *SECTORS], value=ALL, label="Sector (praktijkvoorbeelden)")
                        s_btn = gr.Button("Zoeken", variant="primary", elem_id="ww-search-go")
                        s_results = gr.Dataframe(headers=["#", "score", "dense", "document", "sectie", "soort", "passage"],
                                                 interactive=False, wrap=True, elem_id="ww-search-results")
                        s_open_choice = gr.Dropdown(label="Resultaat openen", choices=[], elem_id="ww-search-open")
                        s_open = gr.Button("Open in document", size="sm", elem_id="ww-search-open-btn")
                    with gr.Tab("Document", id="document"):
                        doc_select = gr.Dropdown(label="Document", choices=[], elem_id="ww-doc-select")
                        doc_view = gr.HTML(elem_id="ww-doc-view")
                    with gr.Tab("Praktijkvoorbeelden", id="cases"):
                        with gr.Row():
                            c_sector = gr.Dropdown([ALL, *SECTORS], value=ALL, label="Sector")
                            c_size = gr.Dropdown([ALL, *SIZE_CLASSES], value=ALL, label="Omvang")
                            c_theme = gr.Dropdown([ALL, *THEMES], value=ALL, label="Thema")
                        c_table = gr.Dataframe(headers=["organisatie", "sector", "omvang", "thema's", "titel"],
                                               interactive=False, wrap=True, elem_id="ww-cases")
                        c_choice = gr.Dropdown(label="Praktijkvoorbeeld", choices=[])
                        c_view = gr.HTML()
            with gr.Tab("Beheer", id="beheer"):
                if not settings.admin_password:
                    gr.Markdown("Beheer is uitgeschakeld: er is geen beheerderswachtwoord ingesteld. Start de app "
                                "met `ASSISTANT_ADMIN_PASSWORD=…` om de index hier te beheren.", elem_id="ww-admin-off")
                    admin_inputs = None
                else:
                    with gr.Row():
                        pw = gr.Textbox(label="Beheerderswachtwoord", type="password", elem_id="ww-admin-pw")
                        login_btn = gr.Button("Inloggen", elem_id="ww-admin-login")
                    login_msg = gr.Markdown(elem_id="ww-admin-msg")
                    with gr.Column(visible=False) as admin_panel:
                        status_md = gr.Markdown(elem_id="ww-admin-status")
                        with gr.Row():
                            update_btn = gr.Button("Index bijwerken", variant="primary", elem_id="ww-admin-update")
                            rebuild_btn = gr.Button("Volledig herbouwen", elem_id="ww-admin-rebuild")
                        upload_file = gr.File(label="Document toevoegen (.md, .txt, .pdf)",
                                              file_types=[".md", ".txt", ".pdf"], elem_id="ww-admin-file")
                        upload_replace = gr.Checkbox(label=f"{REPLACE_LABEL} (zelfde bestandsnaam)",
                                                     value=False, elem_id="ww-admin-replace")
                        upload_btn = gr.Button("Uploaden en indexeren", elem_id="ww-admin-upload")
                        admin_out = gr.Markdown(elem_id="ww-admin-out")
                        gr.Markdown("### Feedback\nBeoordelingen van antwoorden door bezoekers; niet-goed eerst. "
                                    "Alleen zichtbaar na inloggen: de vragen van bezoekers staan erin.")
                        f_refresh = gr.Button("Vernieuwen", size="sm", elem_id="ww-feedback-refresh")
                        f_table = gr.Dataframe(headers=["tijd", "oordeel", "vraag", "antwoord", "build"],
                                               interactive=False, wrap=True, elem_id="ww-feedback")
                    admin_inputs = (pw, login_btn, login_msg, admin_panel, status_md, update_btn, rebuild_btn,
                                    upload_file, upload_replace, upload_btn, admin_out, f_refresh, f_table)

        # --- events --------------------------------------------------------------------------
        chat_outputs = [chatbot, answers, sources, open_choice, question, theme_btn]
        send.click(respond, [question, chatbot, answers], chat_outputs, api_name="chat", concurrency_id="chat")
        question.submit(respond, [question, chatbot, answers], chat_outputs, api_visibility="private",
                        concurrency_id="chat")
        for button in example_buttons:
            button.click(lambda q: q, button, question, api_visibility="private").then(
                respond, [question, chatbot, answers], chat_outputs, api_visibility="private", concurrency_id="chat")
        chatbot.like(on_like, answers, None, api_visibility="private", concurrency_id="feedback",
                     concurrency_limit=4)
        export_btn.click(export, answers, export_box, api_visibility="private")
        open_btn.click(open_cited, [open_choice, answers], [tabs, source_tabs, doc_select, doc_view],
                       api_visibility="private").then(None, js=SCROLL_TO_SELECTION)
        theme_btn.click(open_answer_theme, answers, [tabs, t_select, t_view, t_point], api_visibility="private")
        t_select.input(show_theme, t_select, [t_view, t_point], api_visibility="private")
        t_open.click(open_theme_point, t_point, [tabs, source_tabs, doc_select, doc_view],
                     api_visibility="private").then(None, js=SCROLL_TO_SELECTION)
        intake_btn.click(intake, [in_sector, in_size, in_challenge], [plan, plan_sources], api_name="intake",
                         concurrency_id="chat")
        s_btn.click(search_corpus, [s_query, s_kind, s_doc, s_sector], [s_results, s_open_choice], api_name="search")
        s_query.submit(search_corpus, [s_query, s_kind, s_doc, s_sector], [s_results, s_open_choice],
                       api_visibility="private")
        s_open.click(open_hit, s_open_choice, [source_tabs, doc_select, doc_view],
                     api_visibility="private").then(None, js=SCROLL_TO_SELECTION)
        doc_select.input(lambda d: app.document_view(d), doc_select, doc_view, api_visibility="private")
        for control in (c_sector, c_size, c_theme):
            control.change(case_table, [c_sector, c_size, c_theme], [c_table, c_choice], api_visibility="private")
        c_choice.change(show_case, c_choice, c_view, api_visibility="private")

        def initial():
            docs = app.documents()
            doc_choices = [(d.title, d.id) for d in sorted(docs.values(), key=lambda d: (d.kind == "case", d.title))]
            table, choice = case_table(ALL, ALL, ALL)
            return (gr.update(choices=doc_choices), gr.update(choices=[ALL, *[d for _, d in doc_choices]]),
                    table, choice, gr.update(choices=app.theme_choices()))

        blocks.load(initial, None, [doc_select, s_doc, c_table, c_choice, t_select], api_visibility="private")

        if admin_inputs is not None:
            (pw, login_btn, login_msg, admin_panel, status_md, update_btn, rebuild_btn, upload_file, upload_replace,
             upload_btn, admin_out, f_refresh, f_table) = admin_inputs
            login_outputs = [admin_ok, admin_panel, login_msg, status_md, f_table]
            # One login attempt at a time: the lockout counts every try, however fast they come.
            login_btn.click(login, pw, login_outputs, api_visibility="private", concurrency_id="login",
                            concurrency_limit=1)
            pw.submit(login, pw, login_outputs, api_visibility="private", concurrency_id="login")

            @hints
            def update_index(session, request: gr.Request, progress=gr.Progress()):
                return reindex(session, request, False, progress)

            @hints
            def rebuild_index(session, request: gr.Request, progress=gr.Progress()):
                return reindex(session, request, True, progress)

            update_btn.click(update_index, admin_ok, [admin_out, status_md], api_visibility="private",
                             concurrency_id="admin", concurrency_limit=1)
            rebuild_btn.click(rebuild_index, admin_ok, [admin_out, status_md], api_visibility="private",
                              concurrency_id="admin")
            upload_btn.click(upload, [admin_ok, upload_file, upload_replace], [admin_out, status_md],
                             api_visibility="private", concurrency_id="admin")
            f_refresh.click(feedback_rows, admin_ok, f_table, api_visibility="private")
    blocks.ww_guard = guard  # serve() hands it to the security middleware (the upload route)
    blocks.ww_app = app  # serve() warms its themes
    return blocks


def _partial(text: str) -> Answer:
    """A streaming answer in progress, for display."""
    return Answer(text=text, citations=[], cases=[], refused=False, mode="generative")


# System fonts only: Gradio's themes load Google Fonts by default, which tells Google every visitor's address.
FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch_options(settings: Settings, blocks) -> dict:
    """What `serve` passes to Gradio's launch: the security middleware, bounded uploads, local fonts."""
    import gradio as gr
    from starlette.middleware import Middleware

    guard = getattr(blocks, "ww_guard", None) if settings.admin_password else None
    middleware = Middleware(SecurityMiddleware, guard=guard, max_upload_bytes=settings.upload_max_bytes,
                            uploads=RateLimit(count=20, seconds=600.0))
    return dict(show_error=False, footer_links=["api"], css=CSS, enable_monitoring=False, max_file_size=settings.upload_max_bytes,
                theme=gr.themes.Soft(**FONTS), app_kwargs={"middleware": [middleware]})


def check_port_free(host: str, port: int) -> None:
    """A clear error before start-up when another program already listens on the port."""
    import socket

    from assistant.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError(f"Cannot listen on {host!r}: the address is unknown ({e.strerror}); "
                          "use --host 127.0.0.1 or set ASSISTANT_HOST.") from e
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(f"Port {port} on {host} is already in use ({e.strerror}); stop the program using it "
                              "or start on another port: `assistant serve --port 7861` (or set ASSISTANT_PORT).") from e


def _warm_themes(app: App) -> None:
    try:
        app.themes()
    except Exception:  # noqa: BLE001 - warming is an optimisation; the first question loads them otherwise
        log.exception("themes not loaded at start")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    check_port_free(host, port)
    blocks = build_app(settings)
    # The themes are checked against the build and embedded once (a few seconds): at start, not during
    # the first visitor's question.
    threading.Thread(target=_warm_themes, args=(blocks.ww_app,), daemon=True).start()
    blocks.queue(default_concurrency_limit=8).launch(server_name=host, server_port=port,
                                                      **launch_options(settings, blocks))
