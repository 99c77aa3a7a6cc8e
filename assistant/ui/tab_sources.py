"""The Bronnen tab for advisors: search the sources, read a whole document, browse the practice cases."""

import gradio as gr

from assistant import render
from assistant.models import DOCUMENT_KINDS, SECTORS, SIZE_CLASSES, THEMES
from assistant.ui.app import ALL, App
from assistant.ui.funnel import shown_errors
from assistant.ui.shared import OUTLINE_JS, Shared, card_list

KIND_CHOICES = [("alle soorten", ALL)] + [(render.KIND_LABELS["nl"][k], k) for k in DOCUMENT_KINDS]
SIZE_FILTER = [("alle", ALL), ("klein (< 50)", "klein"), ("middelgroot (50–250)", "middel"), ("groot (> 250)", "groot"),
               ("niet genoemd", "onbekend")]
assert {v for _, v in SIZE_FILTER} == {ALL, *SIZE_CLASSES}


def build(app: App, shared: Shared):
    with gr.Tabs() as source_tabs:
        shared.source_tabs = source_tabs
        with gr.Tab("Zoeken", id="zoeken"):
            with gr.Row():
                query = gr.Textbox(label="Zoek in de bronnen", scale=3, elem_id="ww-search")
                kind = gr.Dropdown(KIND_CHOICES, value=ALL, label="Soort", elem_id="ww-search-kind")
                doc = gr.Dropdown([("alle documenten", ALL)], value=ALL, label="Document", elem_id="ww-search-doc")
                sector = gr.Dropdown([ALL, *SECTORS], value=ALL, label="Sector (praktijkvoorbeelden)")
            go = gr.Button("Zoeken", variant="primary", elem_id="ww-search-go")
            results = card_list(shared, render.search_results_html("", [], {}), elem_id="ww-search-results")
        with gr.Tab("Document", id="document"):
            shared.doc_select = gr.Dropdown(label="Document", choices=[], value=None, elem_id="ww-doc-select")
            shared.doc_view = gr.HTML(render.placeholder("document"), js_on_load=OUTLINE_JS, elem_id="ww-doc-view")
        with gr.Tab("Praktijkvoorbeelden", id="cases"):
            with gr.Row():
                c_sector = gr.Dropdown([ALL, *SECTORS], value=ALL, label="Sector")
                c_size = gr.Dropdown(SIZE_FILTER, value=ALL, label="Omvang")
                c_theme = gr.Dropdown([ALL, *THEMES], value=ALL, label="Thema")
            c_list = card_list(shared, elem_id="ww-cases")

    @shown_errors
    def search(q: str, kind: str, doc: str, sector: str) -> str:
        return app.search_view(q, kind, doc, sector)

    @shown_errors
    def cases(sector: str, size: str, theme: str) -> str:
        rows = app.case_rows(sector, size, theme)
        return render.case_list_html(rows, f"{len(rows)} praktijkvoorbeelden") or render.placeholder("cases")

    @shown_errors
    def show_document(doc_id: str | None) -> str:
        return app.document_view(doc_id)

    def start():
        """Filled when a page opens (not when the app is built): the live build's documents and themes."""
        docs = app.document_choices()
        return (gr.update(choices=docs), gr.update(choices=[("alle documenten", ALL), *docs]),
                cases(ALL, ALL, ALL), gr.update(choices=app.theme_choices()))

    def wire() -> None:
        go.click(search, [query, kind, doc, sector], results, api_name="search")
        query.submit(search, [query, kind, doc, sector], results, api_visibility="private")
        shared.doc_select.input(show_document, shared.doc_select, shared.doc_view, api_visibility="private")
        for control in (c_sector, c_size, c_theme):
            control.change(cases, [c_sector, c_size, c_theme], c_list, api_visibility="private")

    return wire, start, [shared.doc_select, doc, c_list]
