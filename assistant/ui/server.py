"""Serving the app: Gradio's launch options (security middleware, bounded uploads, local fonts, the
page's style and script) and `serve`."""

import logging
import threading

from assistant.config import Settings
from assistant.security import RateLimit, SecurityMiddleware
from assistant.ui.app import App
from assistant.ui.blocks import build_app

log = logging.getLogger("assistant.ui")

CSS = """
.ww-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 10px; margin: 6px 0; }
.ww-card-head { font-weight: 600; }
.ww-card-kind { font-size: 0.85em; color: #57606a; margin-bottom: 4px; }
.ww-card-text { font-size: 0.92em; max-height: 16em; overflow-y: auto; }
.ww-card-actions { margin-top: 6px; display: flex; gap: 6px; flex-wrap: wrap; }
button.ww-open { font-size: 0.85em; padding: 2px 10px; border: 1px solid #0969da; color: #0969da;
  background: #fff; border-radius: 6px; cursor: pointer; }
button.ww-open:hover { background: #eef6ff; }
.ww-case { background: #f6f8fa; }
mark { background: #fff3a3; padding: 0 1px; }
.ww-selected { background: #eef6ff; display: block; padding: 4px; border-left: 3px solid #0969da; }
.ww-doc-meta { color: #57606a; font-size: 0.9em; margin-bottom: 6px; }
.ww-doc-text { max-height: 70vh; overflow-y: auto; position: relative; }
.ww-doc-text .ww-doc-heading { position: sticky; top: 0; background: var(--background-fill-primary, #fff);
  margin: 0; padding: 6px 0; z-index: 1; }
.ww-outline a { text-decoration: none; }
.ww-outline li.ww-here { font-weight: 600; }
.ww-here-label { color: #0969da; font-weight: normal; font-size: 0.85em; }
.ww-theme-summary { background: #f6f8fa; }
.ww-point-lead { font-weight: 600; margin-top: 10px; }
.ww-quote { margin: 4px 0; padding-left: 8px; border-left: 3px solid #d0d7de; }
.ww-outline li.ww-l3 { margin-left: 1em; } .ww-outline li.ww-l4 { margin-left: 2em; }
.ww-relevance { font-weight: 600; }
#ww-chat .bubble-wrap { padding-bottom: 150px; }  /* room for the dislike reasons under the last answer */
@media (max-width: 640px) {
  #ww-chat { height: auto !important; min-height: 120px; max-height: 70vh; }
  #ww-intro p { font-size: 0.9em; }
  #ww-send { min-width: 100px !important; padding-left: 12px !important; padding-right: 12px !important; }  /* room for "Verstuur" */
}
"""


# Gradio's own words in the page, in Dutch: keys its Dutch translation lacks ("Copy message"), plus a
# script for the few strings its frontend does not translate at all (toast title "Error", the file type
# refusal, the feedback buttons after a click). The script also makes a chat message's copy button copy
# the text as shown (Gradio copies the message's source, with its escapes such as "&amp;").
DUTCH = {
    "chatbot.copy_message": "Kopieer antwoord", "chatbot.copied_message": "Gekopieerd",
    "chatbot.copy": "Kopieer", "chatbot.copied": "Gekopieerd", "common.copy": "Kopieer", "common.copied": "Gekopieerd",
    "chatbot.like": "Vind ik leuk", "chatbot.dislike": "Vind ik niet leuk",
}
PAGE_SCRIPT = """
<script>
(() => {
  const words = {'Liked': 'Vind ik leuk', 'Disliked': 'Vind ik niet leuk', 'Feedback': 'Wat was er mis?',
                 'More tabs': 'Meer tabbladen', 'Scroll down': 'Naar beneden'};
  const fix = () => {
    document.querySelectorAll('button[aria-label]').forEach((b) => {
      const dutch = words[b.getAttribute('aria-label')];
      if (dutch) { b.setAttribute('aria-label', dutch); b.title = dutch; }
    });
    document.querySelectorAll('[aria-label^="bot\\'s message"], [aria-label^="user\\'s message"]').forEach((m) => {
      const label = m.getAttribute('aria-label');
      m.setAttribute('aria-label', label.replace(/^bot's message/, 'antwoord').replace(/^user's message/, 'vraag'));
    });
    document.querySelectorAll('[data-testid="toast-body"] .toast-title').forEach((t) => {
      if (t.firstChild && t.firstChild.nodeType === 3 && t.firstChild.data.trim() === 'Error') t.firstChild.data = 'Fout ';
    });
    document.querySelectorAll('[data-testid="toast-text"]').forEach((t) => {
      const m = t.textContent.match(/^Invalid file types?: (.*)\\. Only (.*) allowed\\.$/);
      if (m) t.textContent = `Ongeldig bestandstype: ${m[1]}. Alleen ${m[2]} zijn toegestaan.`;
    });
  };
  new MutationObserver(fix).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('#ww-chat .message-buttons button');
    if (!button || !/Kopi|Copy/.test(button.getAttribute('aria-label') || '')) return;
    let row = button.closest('.message-buttons').previousElementSibling;
    while (row && !row.classList.contains('message-row')) row = row.previousElementSibling;
    const message = row && row.querySelector('.message-content');
    if (message) setTimeout(() => navigator.clipboard.writeText(message.innerText.trim()).catch(() => {}), 150);
  }, true);
})();
</script>
"""

# System fonts only: Gradio's themes load Google Fonts by default, which tells Google every visitor's address.
FONTS = dict(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch_options(settings: Settings, blocks) -> dict:
    """What `serve` passes to Gradio's launch: the security middleware, bounded uploads, local fonts."""
    import gradio as gr
    from starlette.middleware import Middleware

    guard = getattr(blocks, "ww_guard", None) if settings.admin_password else None
    middleware = Middleware(SecurityMiddleware, guard=guard, max_upload_bytes=settings.upload_max_bytes,
                            uploads=RateLimit(count=20, seconds=600.0))
    return dict(show_error=False, footer_links=[], css=CSS, head=PAGE_SCRIPT, i18n=gr.I18n(nl=DUTCH),
                enable_monitoring=False,
                max_file_size=settings.upload_max_bytes, theme=gr.themes.Soft(**FONTS),
                app_kwargs={"middleware": [middleware]})


def check_port_free(host: str, port: int) -> None:
    """A clear error before start-up when another program already listens on the port."""
    import socket

    from assistant.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError(f"Cannot listen on {host!r}: the address is unknown ({e.strerror}); "
                          "use --host 127.0.0.1 or set ASSISTANT_HOST.") from e
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            raise ConfigError(f"Port {port} on {host} is already in use ({e.strerror}); stop the program using it "
                              "or start on another port: `assistant serve --port 7861` (or set ASSISTANT_PORT).") from e


def _warm_themes(app: App) -> None:
    try:
        app.themes()
    except Exception:  # noqa: BLE001 - warming is an optimisation; the first question loads them otherwise
        log.exception("themes not loaded at start")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> None:
    check_port_free(host, port)
    blocks = build_app(settings)
    # The themes are checked against the build and embedded once (a few seconds): at start, not during
    # the first visitor's question.
    threading.Thread(target=_warm_themes, args=(blocks.ww_app,), daemon=True).start()
    blocks.queue(default_concurrency_limit=8).launch(server_name=host, server_port=port,
                                                      **launch_options(settings, blocks))
