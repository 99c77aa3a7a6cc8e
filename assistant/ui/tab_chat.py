"""The Chat tab: the conversation, its sources (each card with its own "open in document" action),
example questions, clickable suggestions after a refusal, feedback (a dislike may give a reason),
clearing the conversation and exporting it."""

import threading
import time
from dataclasses import replace

import gradio as gr

from assistant import render
from assistant.models import Answer
from assistant.security import clean_text
from assistant.ui.app import (DISLIKE_REASONS, EXAMPLES, MAX_HISTORY_MESSAGES, MAX_QUESTION_CHARS, App, Turn,
                              client_address, last_turn, user_turns)
from assistant.ui.funnel import shown_errors, user_message
from assistant.ui.shared import Shared, card_list


# After the export box is filled: its text to the clipboard (the box stays, to copy by hand as well).
COPY_EXPORT = ("() => { setTimeout(() => { const t = document.querySelector('#ww-export-box textarea'); "
               "if (t && t.value) navigator.clipboard.writeText(t.value).catch(() => {}); }, 200); }")


def _partial(text: str) -> Answer:
    """A streaming answer in progress, for display."""
    return Answer(text=text, citations=[], cases=[], refused=False, mode="generative")


# After an answer the chat shows the newest question at its top, so the answer is read from its start:
# Gradio scrolls its message list to the bottom (the end of a long answer), and on a phone the chat box
# itself is what scrolls (server.py's CSS), which Gradio leaves where it was (the previous answer). When
# the question is then outside the window (a phone's page is scrolled down to the question box), the
# page scrolls to it too.
SHOW_NEWEST_QUESTION = (
    "() => { setTimeout(() => { const chat = document.getElementById('ww-chat'); if (!chat) return; "
    "const rows = chat.querySelectorAll('.message-row.user-row'); const last = rows[rows.length - 1]; if (!last) return; "
    "for (let el = last.parentElement; el && el !== chat.parentElement; el = el.parentElement) { "
    "if (el.scrollHeight > el.clientHeight + 1 && ['auto', 'scroll'].includes(getComputedStyle(el).overflowY)) "
    "el.scrollTop += last.getBoundingClientRect().top - el.getBoundingClientRect().top - 4; } "
    "const top = last.getBoundingClientRect().top; if (top < 0 || top > window.innerHeight - 80) "
    "window.scrollBy(0, top - 8); }, 300); }")


def _bot(answer: Answer) -> dict:
    """The assistant's chat message; a refusal's suggestions are clickable questions under it (and so
    not listed in its text as well)."""
    if not answer.suggestions:
        return {"role": "assistant", "content": render.answer_markdown(answer)}
    listed = {f"- {s}" for s in answer.suggestions}
    shown = replace(answer, text="\n".join(line for line in answer.text.split("\n") if line not in listed))
    return {"role": "assistant", "content": render.answer_markdown(shown),
            "options": [{"label": s, "value": s} for s in answer.suggestions]}


def build(app: App, shared: Shared):
    with gr.Row(elem_id="ww-chat-row"):
        with gr.Column(scale=3, min_width=300):
            chatbot = gr.Chatbot(label="Gesprek", show_label=False, elem_id="ww-chat", buttons=["copy"],
                                 feedback_options=("Like", "Dislike", *DISLIKE_REASONS), latex_delimiters=[], height="60vh",
                                 min_height=160, placeholder="Stel hieronder je vraag; het antwoord verschijnt hier.")
            with gr.Row(elem_id="ww-ask-row"):
                question = gr.Textbox(placeholder="Typ je vraag…", show_label=False, scale=5, elem_id="ww-question",
                                      max_lines=4)
                send = gr.Button("Verstuur", variant="primary", scale=1, min_width=80, elem_id="ww-send")
            gr.Markdown("**Voorbeeldvragen**")
            with gr.Row():
                examples = [gr.Button(q, size="sm", elem_classes=["ww-example"]) for q in EXAMPLES]
            with gr.Row():
                clear = gr.Button("Gesprek wissen", size="sm", elem_id="ww-clear")
                export = gr.Button("Kopieer het hele gesprek met bronnen", size="sm", elem_id="ww-export")
            export_box = gr.Textbox(label="Gekopieerd: het gesprek met de bronnen als voetnoten (Markdown, om te "
                                          "plakken in een verslag)", lines=8, visible=False, buttons=["copy"],
                                    elem_id="ww-export-box")
        with gr.Column(scale=2, min_width=300):
            sources = card_list(shared, render.sources_panel(None), elem_id="ww-sources")
            theme_btn = gr.Button("", size="sm", visible=False, elem_id="ww-open-theme")

    turns = shared.turns
    recent: dict[tuple, float] = {}  # (session, message, vote) -> when it was stored
    lock = threading.Lock()

    @shown_errors
    def respond(message: str, history: list, turns: dict):
        message = clean_text(message, MAX_QUESTION_CHARS)
        history = list(history or [])[-MAX_HISTORY_MESSAGES:]  # the conversation is echoed back: bounded
        earlier = [clean_text(t, MAX_QUESTION_CHARS) for t in user_turns(history)[-3:]]
        history = history + [{"role": "user", "content": message}]
        yield history + [{"role": "assistant", "content": "…"}], turns, gr.update(), "", gr.update()
        streamed, answer = "", None
        try:
            for piece in app.ask_stream(message, earlier):
                if isinstance(piece, Answer):
                    answer = piece
                    break
                streamed += piece
                yield (history + [{"role": "assistant", "content": render.answer_markdown(_partial(streamed))}],
                       turns, gr.update(), "", gr.update())
        except Exception as e:  # noqa: BLE001 - shown in the chat as the funnel words it
            yield history + [{"role": "assistant", "content": render.escape(user_message(e))}], turns, \
                gr.update(), "", gr.update()
            return
        history = history + [_bot(answer)]
        turns = {**turns, len(history) - 1: Turn(message, answer)}
        yield history, turns, render.sources_panel(answer, app.documents()), "", theme_button(answer)

    def theme_button(answer: Answer):
        """The "open the theme" button under the sources, for an answer that used a curated theme."""
        if not answer.theme:
            return gr.update(visible=False, value="")
        return gr.update(visible=True, value=f"Open het thema ‘{answer.theme['title']}’")

    @shown_errors
    def open_answer_theme(turns: dict):
        last = last_turn(turns)
        theme = last.answer.theme if last else None
        if not theme:
            return gr.update(), gr.update(), gr.update()
        return gr.Tabs(selected="themas"), gr.update(value=theme["id"]), app.theme_view(theme["id"])

    @shown_errors
    def on_like(data: gr.LikeData, turns: dict, request: gr.Request):
        """A thumb up or down, or one of the dislike reasons under the flag button (stored as a dislike
        with that reason). Un-toggling a thumb ("") changes nothing."""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn = turns.get(index)
        if turn is None or data.liked == "":
            return
        # Gradio sends a reason chosen under the flag twice: the second, within seconds, is the same vote.
        key, now = (getattr(request, "session_hash", None), index, str(data.liked)), time.monotonic()
        with lock:
            if now - recent.get(key, -60.0) < 5.0:
                return
            if len(recent) > 10_000:
                recent.clear()
            recent[key] = now
        reason = data.liked if isinstance(data.liked, str) and data.liked not in ("Like", "Dislike") else ""
        liked = data.liked is True or data.liked == "Like"
        app.vote(turn, liked, client_address(request), getattr(request, "session_hash", None), reason=reason)
        gr.Info("Bedankt, je feedback is opgeslagen.", title="Feedback")

    def export_conversation(turns: dict):
        if not turns:
            return gr.update(value="Nog geen antwoord om te kopiëren.", visible=True)
        ordered = [(t.question, t.answer) for _, t in sorted(turns.items())]
        return gr.update(value=render.export_conversation(ordered), visible=True)

    def clear_conversation():
        return [], {}, render.sources_panel(None), "", gr.update(visible=False, value=""), gr.update(visible=False, value="")

    def picked(evt: gr.SelectData) -> str:
        """A suggestion under a refusal, clicked: it becomes the next question."""
        return clean_text(evt.value, MAX_QUESTION_CHARS)

    def wire() -> None:
        outputs = [chatbot, turns, sources, question, theme_btn]
        send.click(respond, [question, chatbot, turns], outputs, api_name="chat", concurrency_id="chat").then(
            None, js=SHOW_NEWEST_QUESTION)
        question.submit(respond, [question, chatbot, turns], outputs, api_visibility="private",
                        concurrency_id="chat").then(None, js=SHOW_NEWEST_QUESTION)
        for button in examples:
            button.click(lambda q: q, button, question, api_visibility="private").then(
                respond, [question, chatbot, turns], outputs, api_visibility="private", concurrency_id="chat").then(
                None, js=SHOW_NEWEST_QUESTION)
        chatbot.option_select(picked, None, question, api_visibility="private").then(
            respond, [question, chatbot, turns], outputs, api_visibility="private", concurrency_id="chat").then(
            None, js=SHOW_NEWEST_QUESTION)
        chatbot.like(on_like, turns, None, api_visibility="private", concurrency_id="feedback", concurrency_limit=4)
        export.click(export_conversation, turns, export_box, api_visibility="private").then(None, js=COPY_EXPORT)
        clear.click(clear_conversation, None, [chatbot, turns, sources, question, theme_btn, export_box],
                    api_visibility="private")
        theme_btn.click(open_answer_theme, turns, [shared.tabs, shared.theme_select, shared.theme_view],
                        api_visibility="private")

    return wire
