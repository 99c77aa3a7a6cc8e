"""The "Waar begin ik?" tab: three questions (sector, size, challenge), then a first-steps plan from the
themes and the sources, with matching practice cases."""

import gradio as gr

from assistant.ui.app import CHALLENGES, SIZE_CHOICES, App, intake_sectors
from assistant.ui.funnel import shown_errors
from assistant.ui.shared import Shared, card_list


def build(app: App, shared: Shared):
    gr.Markdown("Drie vragen, dan een eerste stappenplan uit de bronnen met praktijkvoorbeelden. Sector en omvang "
                "mag je leeg laten.")
    with gr.Row():
        sector = gr.Dropdown(intake_sectors(), value=None, label="Sector", info="Kies je sector (mag leeg)",
                             elem_id="ww-intake-sector")
        size = gr.Dropdown(SIZE_CHOICES, value=None, label="Omvang", info="Hoeveel medewerkers? (mag leeg)",
                           elem_id="ww-intake-size")
        challenge = gr.Dropdown(list(CHALLENGES), value=None, label="Belangrijkste uitdaging",
                                info="Kies wat nu het meest speelt", elem_id="ww-intake-challenge")
    go = gr.Button("Maak mijn startplan", variant="primary", elem_id="ww-intake-go")
    with gr.Row():
        with gr.Column(scale=3, min_width=300):
            plan = gr.Markdown(elem_id="ww-plan", latex_delimiters=[])
        with gr.Column(scale=2, min_width=300):
            plan_sources = card_list(shared, elem_id="ww-plan-sources")

    @shown_errors
    def make_plan(sector: str | None, size: str | None, challenge: str | None):
        return app.intake(sector, size, challenge)

    def wire() -> None:
        go.click(make_plan, [sector, size, challenge], [plan, plan_sources], api_name="intake", concurrency_id="chat")

    return wire
