"""`build_app`: the page (header, tabs) assembled from one builder per tab, and the events that reach
across tabs (every card's "open in document" action, the document viewer)."""

import gradio as gr

from assistant.config import Settings
from assistant.pipeline import Assistant
from assistant.security import LoginGuard
from assistant.ui import tab_admin, tab_chat, tab_intake, tab_sources, tab_themes
from assistant.ui.app import INTRO, App
from assistant.ui.funnel import shown_errors
from assistant.ui.shared import Shared

SCROLL_TO_SELECTION = ("() => { setTimeout(() => { const s = document.querySelector('#ww-selected mark') || "
                       "document.getElementById('ww-selected'); if (s) s.scrollIntoView({block: 'center'}); }, 300); }")


def build_app(settings: Settings, assistant: Assistant | None = None, guard: LoginGuard | None = None):
    app = App(settings, assistant, guard)
    # Uploaded files Gradio keeps in its cache go after an hour (an admin's upload is copied into the corpus).
    with gr.Blocks(title="Wegwijzer Sociale Innovatie", delete_cache=(600, 3600)) as blocks:
        shared = Shared(turns=gr.State({}), admin=gr.State(None))
        gr.Markdown("# Wegwijzer Sociale Innovatie\n" + INTRO, elem_id="ww-intro")
        # On a phone the tabs wrap onto two rows instead of hiding behind an (English) overflow menu.
        with gr.Tabs(elem_id="ww-tabs", overflow_behavior="wrap") as tabs:
            shared.tabs = tabs
            with gr.Tab("Chat", id="chat"):
                wires = [tab_chat.build(app, shared)]
            with gr.Tab("Waar begin ik?", id="intake"):
                wires.append(tab_intake.build(app, shared))
            with gr.Tab("Thema's", id="themas"):
                wires.append(tab_themes.build(app, shared))
            with gr.Tab("Bronnen", id="bronnen"):
                wire, start, start_outputs = tab_sources.build(app, shared)
                wires.append(wire)
            with gr.Tab("Beheer", id="beheer"):
                wires.append(tab_admin.build(app, shared))
        for wire in wires:
            wire()

        @shown_errors
        def open_from_card(turns: dict, event: gr.EventData):
            """A card's action (see render.open_button and OPEN_JS): a passage opens in the document viewer,
            "theme:<id>" (a related theme) in the Thema's tab."""
            target = str(getattr(event, "_data", {}).get("open") or "")
            if target.startswith("theme:"):
                theme_id = target.removeprefix("theme:")
                return (gr.Tabs(selected="themas"), gr.update(), gr.update(), gr.update(),
                        gr.update(value=theme_id), app.theme_view(theme_id))
            citation = app.open_target(target, turns)
            if citation is None:
                raise gr.Error("Deze passage staat niet meer in de index; stel de vraag opnieuw.", print_exception=False)
            return (gr.Tabs(selected="bronnen"), gr.Tabs(selected="document"), gr.update(value=citation.doc_id),
                    app.document_view(citation.doc_id, citation), gr.update(), gr.update())

        for cards in shared.card_lists:
            cards.click(open_from_card, shared.turns, [shared.tabs, shared.source_tabs, shared.doc_select,
                                                       shared.doc_view, shared.theme_select, shared.theme_view],
                        api_visibility="private").then(None, js=SCROLL_TO_SELECTION)
        blocks.load(start, None, [*start_outputs, shared.theme_select], api_visibility="private")
    blocks.ww_guard = app.guard  # serve() hands it to the security middleware (the upload route)
    blocks.ww_app = app  # serve() warms its themes
    return blocks
