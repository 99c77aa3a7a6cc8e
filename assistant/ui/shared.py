"""The components more than one tab uses: the tab sets, the document viewer, the theme view, the
conversation's state, the admin session, and the card lists whose "open in document" actions reach
the Bronnen tab.

Each tab's `build(app, shared)` lays out its components, fills in the shared ones it owns, and returns
its `wire()`, which `build_app` calls once every tab exists (events may then reach across tabs)."""

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Shared:
    tabs: Any = None  # gr.Tabs: chat, intake, themas, bronnen, beheer
    source_tabs: Any = None  # gr.Tabs inside Bronnen: zoeken, document, cases
    doc_select: Any = None  # gr.Dropdown of the document viewer
    doc_view: Any = None  # gr.HTML of the document viewer
    theme_select: Any = None  # gr.Radio of the Thema's tab
    theme_view: Any = None  # gr.HTML of the Thema's tab
    turns: Any = None  # gr.State: {chat message index: Turn}
    admin: Any = None  # gr.State: an AdminSession after a login
    card_lists: list = field(default_factory=list)  # gr.HTML components whose cards have "open" buttons


# Runs when a card list mounts: a click on a card's "open in document" button (render.open_button)
# becomes the component's click event, carrying the button's target. One listener on the component,
# so cards of a later answer work too. (Gradio runs this through Function(): the CSP allows it.)
OPEN_JS = """
element.addEventListener('click', (event) => {
  const button = event.target.closest('button.ww-open');
  if (!button || !element.contains(button)) return;
  event.preventDefault();
  trigger('click', {open: button.dataset.open});
});
"""


# The document viewer's outline: a click scrolls the text box to that section (the page itself stays put,
# and the address does not change).
OUTLINE_JS = """
element.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-heading]');
  if (!link || !element.contains(link)) return;
  event.preventDefault();
  const heading = element.querySelector('#' + link.dataset.heading);
  const box = element.querySelector('.ww-doc-text');
  if (heading && box) box.scrollTo({top: heading.closest('section').offsetTop, behavior: 'smooth'});
});
"""


def card_list(shared: "Shared", value: str = "", **kwargs):
    """A gr.HTML of cards whose "open in document" buttons open the passage in the document viewer."""
    import gradio as gr

    html = gr.HTML(value, js_on_load=OPEN_JS, **kwargs)
    shared.card_lists.append(html)
    return html
