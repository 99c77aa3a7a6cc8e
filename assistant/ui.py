"""Gradio app. For now: a chat that answers with cited sentences from the sources (issue 6 adds the rest).

Everything a user reads here is Dutch. Corpus and user text are HTML-escaped before rendering.
"""

from __future__ import annotations

import html
import logging

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.models import Answer
from assistant.pipeline import Assistant

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
    "bronvermelding [n]."
)


def render_answer(answer: Answer) -> str:
    """Markdown for the chat: notices, the answer, then the numbered sources. All text is escaped."""
    lines = [f"*{html.escape(n)}*" for n in answer.notices]
    if lines:
        lines.append("")
    lines.append(html.escape(answer.text))
    if answer.citations:
        lines += ["", "**Bronnen**" if answer.language == "nl" else "**Sources**"]
        for c in answer.citations:
            where = html.escape(c.title) + (f" › {html.escape(c.section)}" if c.section else "")
            lines.append(f"- [{c.n}] {where}")
    return "\n".join(lines)


def build_app(settings: Settings, assistant: Assistant | None = None):
    import gradio as gr

    assistant = assistant or Assistant(settings)

    def respond(message: str, history: list) -> str:
        earlier = [m["content"] for m in history if isinstance(m, dict) and m.get("role") == "user"
                   and isinstance(m.get("content"), str)]
        try:
            return render_answer(assistant.ask(message or "", history=earlier[-3:]))
        except AssistantError as e:
            log.warning("answer failed: %s", e)
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
