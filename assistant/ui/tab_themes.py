"""The Thema's tab: the curated guides as a booklet; each quote opens in its document."""

import gradio as gr

from assistant import render

from assistant.ui.app import App
from assistant.ui.funnel import shown_errors
from assistant.ui.shared import Shared, card_list


def build(app: App, shared: Shared):
    gr.Markdown("Gidsen bij de vragen die ondernemers het vaakst stellen. De samenvatting en de kopjes zijn door ons "
                "geschreven; elk punt citeert letterlijk een bron, die je met ‘Open in document’ in zijn bron leest.")
    with gr.Row():
        with gr.Column(scale=1, min_width=240):
            shared.theme_select = gr.Radio(choices=[], label="Thema's", elem_id="ww-theme-select")
        with gr.Column(scale=3, min_width=300):
            shared.theme_view = card_list(shared, render.placeholder("theme"), elem_id="ww-theme-view")

    @shown_errors
    def show(theme_id: str | None) -> str:
        return app.theme_view(theme_id)

    def wire() -> None:
        shared.theme_select.input(show, shared.theme_select, shared.theme_view, api_visibility="private")

    return wire
