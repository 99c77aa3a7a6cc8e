"""Gradio app. For now: a chat that answers with the best-matching cited passages.

Everything a user reads here is Dutch. Corpus and user text are HTML-escaped before rendering.
"""

from __future__ import annotations

import html
import logging

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.models import Hit
from assistant.pipeline import Index

log = logging.getLogger(__name__)

EXAMPLES = [
    "Waar moet ik beginnen?",
    "Welke regelingen zijn er voor het mkb?",
    "Voorbeelden van zelfsturende teams in de bouw",
    "How do I involve staff when introducing new technology?",
]
INTRO = (
    "Stel een vraag over sociale innovatie: anders organiseren, zelfsturende teams, coachend "
    "leiderschap, leren op het werk. U krijgt de passages uit de bronnen die het best aansluiten, "
    "elk met bronvermelding."
)


def _excerpt(text: str, limit: int = 600) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + " …"


def render_hits(question: str, hits: list[Hit]) -> str:
    """Markdown with numbered, quoted passages and their sources; all corpus text escaped."""
    if not hits:
        return "Ik vond geen passages in de bronnen bij deze vraag. Probeer het anders te formuleren."
    lines = ["Dit zijn de passages uit de bronnen die het best bij uw vraag passen:", ""]
    for n, hit in enumerate(hits, 1):
        where = html.escape(hit.title) + (f" › {html.escape(hit.section)}" if hit.section else "")
        lines.append(f"**[{n}] {where}**")
        lines.append("")
        lines.append("> " + html.escape(_excerpt(hit.text)))
        lines.append("")
    return "\n".join(lines)


def build_app(settings: Settings, index: Index | None = None):
    import gradio as gr

    index = index or Index(settings)

    def respond(message: str, history: list) -> str:
        question = (message or "").strip()
        if not question:
            return "Stel gerust een vraag, bijvoorbeeld: “Waar moet ik beginnen?”"
        try:
            return render_hits(question, index.search(question[:2000], k=3))
        except AssistantError as e:
            log.warning("search failed: %s", e)
            return "Er ging iets mis bij het zoeken in de bronnen: " + html.escape(str(e))

    with gr.Blocks(title="Wegwijzer Sociale Innovatie") as app:
        gr.Markdown("# Wegwijzer Sociale Innovatie\n" + INTRO)
        gr.ChatInterface(
            respond,
            chatbot=gr.Chatbot(label="Gesprek", height=520),
            textbox=gr.Textbox(placeholder="Typ uw vraag…", label="Uw vraag"),
            examples=EXAMPLES,
            examples_label="Voorbeeldvragen",
            run_examples_on_click=True,
            cache_examples=False,
            concurrency_limit=4,
            api_name="chat",
        )
    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    app = build_app(settings)
    app.queue(default_concurrency_limit=4).launch(server_name=host, server_port=port, show_error=False, footer_links=["api"])
