"""The one place where errors become what a user reads.

An error the assistant raises on purpose (`AssistantError`) is shown as a Dutch sentence that names the
problem and what to do; its technical detail goes to the log. Anything else is a bug: the user reads a
generic Dutch message and the log gets the traceback. Raw exception text never reaches a visitor.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging

from assistant.errors import (AssistantError, ConfigError, CorpusError, EmbedderError, IndexMismatchError,
                              IndexMissingError, StoreError, UserError)

log = logging.getLogger("assistant.ui")

GENERIC = ("Er ging iets mis aan onze kant. Probeer het nog eens; blijft het misgaan, meld het dan aan de "
           "beheerder (de details staan in het serverlog).")
BY_KIND: list[tuple[type, str]] = [
    (StoreError, "De bronnen of de opslag zijn op dit moment niet bereikbaar. Probeer het zo nog eens; blijft dit zo, "
                 "meld het dan aan de beheerder."),
    (IndexMissingError, "Er is nog geen index van de bronnen. De beheerder bouwt die in het tabblad Beheer (Index "
                        "bijwerken) of met `assistant index`."),
    (IndexMismatchError, "De index past niet bij deze versie van de app. De beheerder bouwt hem opnieuw in het tabblad "
                         "Beheer (Volledig herbouwen) of met `assistant index --rebuild`."),
    (CorpusError, "De bronnen kunnen nu niet worden geïndexeerd; de live index is niet veranderd. De reden staat in "
                  "het serverlog en in `assistant status`."),
    (EmbedderError, "Het taalmodel voor het zoeken kan niet worden geladen. Meld dit aan de beheerder."),
    (ConfigError, "De app is niet goed ingesteld. Meld dit aan de beheerder."),
]


def user_message(error: BaseException) -> str:
    """What the user reads for this error (Dutch); logs what they do not read."""
    if isinstance(error, UserError):  # written for the user already (upload refused, login needed, …)
        return str(error)
    if isinstance(error, AssistantError):
        nl = getattr(error, "nl", None)
        log.warning("shown to the user as a Dutch message: %s", error)
        if nl:
            return nl
        return next((text for kind, text in BY_KIND if isinstance(error, kind)), GENERIC)
    log.error("unexpected error", exc_info=error)
    return GENERIC


def _shown(error: BaseException):
    import gradio as gr

    # The toast renders HTML: messages quote file names and front matter, so they are escaped.
    return gr.Error(html.escape(user_message(error), quote=False), print_exception=False)


def shown_errors(fn):
    """Wrap a Gradio handler (function or generator) so every error reaches the user through `user_message`
    as a red toast. Gradio's own gr.Error passes through. The signature is kept (Gradio reads it)."""
    import gradio as gr

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as e:  # noqa: BLE001 - the funnel: every error gets a Dutch message
                raise _shown(e) from e
        return generator

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001
            raise _shown(e) from e
    return wrapper
