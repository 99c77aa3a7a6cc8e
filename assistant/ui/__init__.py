"""The Gradio app: Chat, "Waar begin ik?" and Thema's for entrepreneurs, Bronnen for advisors, Beheer for
maintainers. One module per tab (tab_*.py) over an `App` whose handlers are plain methods (app.py); all
HTML comes from assistant/render.py; errors reach users only through funnel.py.

Everything a user reads is Dutch (English answers for English questions). Corpus and user text is
escaped wherever it is rendered.
"""

from assistant.ui.app import (ALL, CHALLENGE_GUIDES, CHALLENGES, EXAMPLES, START_QUESTION, START_THEME, App, Turn,
                              message_text, user_turns)
from assistant.ui.blocks import build_app
from assistant.ui.server import CSS, check_port_free, launch_options, serve

__all__ = ["ALL", "CHALLENGE_GUIDES", "CHALLENGES", "EXAMPLES", "START_QUESTION", "START_THEME", "App", "Turn", "CSS",
           "build_app", "check_port_free", "launch_options", "message_text", "serve", "user_turns"]
