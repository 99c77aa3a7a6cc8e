"""The Beheer tab for maintainers (advisors read the feedback here too): log in, see and rebuild the
index with progress, add, replace or delete a document, read the visitors' feedback.

Every handler goes through an `App` method that checks the session on the server."""

import time
from pathlib import Path

import gradio as gr

from assistant import render
from assistant.admin import ALLOWED_EXTENSIONS, REPLACE_LABEL
from assistant.messages import phase_label
from assistant.text import plain
from assistant.ui.app import App, client_address
from assistant.errors import UserError
from assistant.ui.funnel import shown_errors, user_message
from assistant.ui.shared import Shared


def progress_reporter(progress):
    """A build_index progress callback that shows the phase in Dutch with counts, rate and time left."""
    started: dict[str, float] = {}

    def report(done: int, total: int, phase: str) -> None:
        label = phase_label(phase, "nl")
        now = time.monotonic()
        since = started.setdefault(phase, now)
        if not total:
            progress(None, desc=label)
            return
        text = f"{label}: {done} van {total}"
        elapsed = now - since
        if done and elapsed > 1:
            rate = done / elapsed
            text += f" · {rate:.1f} per seconde"
            if done < total:
                text += f" · nog ongeveer {max(1, round((total - done) / rate))} s"
        progress(min(1.0, done / total), desc=text)

    return report


def refused(error: Exception, outputs: int) -> tuple:
    """An admin action that did not happen: the reason as a toast and in the result line; the form keeps
    what was entered (no error overlay over it), so the maintainer can fix it and try again."""
    text = user_message(error)
    gr.Warning(render.escape(text), title="Niet gelukt")
    return (f"**Niet gelukt:** {render.safe_markdown(text)}",) + (gr.update(),) * (outputs - 1)


def feedback_table(rows: list[dict]) -> list[list]:
    return [[render.local_time(r.get("time")), "goed" if r.get("liked") else "niet goed", r.get("reason") or "",
             r.get("question"), " ".join(plain(str(r.get("answer", ""))).split())[:200], r.get("build_id")] for r in rows]


def build(app: App, shared: Shared):
    if not app.settings.admin_password:
        gr.Markdown("Beheer is uitgeschakeld: er is geen beheerderswachtwoord ingesteld. Start de app met "
                    "`ASSISTANT_ADMIN_PASSWORD=…` om de index hier te beheren.", elem_id="ww-admin-off")
        return lambda: None
    with gr.Row(elem_id="ww-admin-login-row") as login_row:
        password = gr.Textbox(label="Beheerderswachtwoord", type="password", elem_id="ww-admin-pw")
        login = gr.Button("Inloggen", elem_id="ww-admin-login")
    message = gr.Markdown(elem_id="ww-admin-msg")
    with gr.Column(visible=False) as panel:
        logout = gr.Button("Uitloggen", size="sm", elem_id="ww-admin-logout")
        status = gr.Markdown(elem_id="ww-admin-status")
        with gr.Row():
            update = gr.Button("Index bijwerken", variant="primary", elem_id="ww-admin-update")
            rebuild = gr.Button("Volledig herbouwen", elem_id="ww-admin-rebuild")
        out = gr.Markdown(elem_id="ww-admin-out")
        gr.Markdown("### Document toevoegen of vervangen")
        upload_file = gr.File(label=f"Document ({', '.join(ALLOWED_EXTENSIONS)})", file_types=list(ALLOWED_EXTENSIONS),
                              elem_id="ww-admin-file")
        replace = gr.Checkbox(label=f"{REPLACE_LABEL} (zelfde bestandsnaam)", value=False, elem_id="ww-admin-replace")
        upload = gr.Button("Uploaden en indexeren", elem_id="ww-admin-upload")
        gr.Markdown("### Document verwijderen")
        with gr.Row():
            to_delete = gr.Dropdown(label="Document", choices=[], value=None, elem_id="ww-admin-delete-choice")
            sure = gr.Checkbox(label="Ja, verwijder dit document uit de bronnen", value=False, elem_id="ww-admin-sure")
        delete = gr.Button("Verwijderen en indexeren", variant="stop", elem_id="ww-admin-delete")
        gr.Markdown("### Feedback\nBeoordelingen van antwoorden door bezoekers; niet-goed eerst, tijden in "
                    "Nederlandse tijd. Alleen zichtbaar na inloggen: de vragen van bezoekers staan erin.")
        refresh = gr.Button("Vernieuwen", size="sm", elem_id="ww-feedback-refresh")
        table = gr.Dataframe(headers=["tijd", "oordeel", "toelichting", "vraag", "antwoord", "build"],
                             interactive=False, wrap=True, elem_id="ww-feedback",
                             column_widths=["12%", "8%", "12%", "22%", "36%", "10%"])
    admin = shared.admin

    def do_login(pw: str, request: gr.Request):
        client = client_address(request)
        session, text = app.admin.login(pw, client)
        if session is None:
            return None, gr.update(visible=False), text, "", [], gr.update(), "", gr.update(visible=True)
        return (session, gr.update(visible=True), text, app.admin.status_markdown(),
                feedback_table(app.admin.feedback_rows(session, client)),
                gr.update(choices=app.admin.deletable(session, client), value=None), "", gr.update(visible=False))

    def do_logout(session, request: gr.Request):
        text = app.admin.logout(session, client_address(request))
        return None, gr.update(visible=False), text, "", [], gr.update(choices=[], value=None), gr.update(visible=True)

    def reindex(session, request: gr.Request, full: bool, progress):
        try:
            return app.admin.reindex(session, client_address(request), full, progress_reporter(progress)), app.admin.status_markdown()
        except Exception as e:  # noqa: BLE001
            return refused(e, 2)

    def update_index(session, request: gr.Request, progress=gr.Progress()):
        return reindex(session, request, False, progress)

    def rebuild_index(session, request: gr.Request, progress=gr.Progress()):
        return reindex(session, request, True, progress)

    def add(session, file, replace_it: bool, request: gr.Request, progress=gr.Progress()):
        client = client_address(request)
        try:
            app.admin.require(session, client)
            if file is None:
                raise UserError("Kies eerst een bestand (.md, .txt of .pdf).")
            path = Path(file if isinstance(file, str) else file.name)
            original = Path(getattr(file, "orig_name", None) or path.name).name
            text = app.admin.upload(session, client, path, original, replace_it, progress_reporter(progress))
        except Exception as e:  # noqa: BLE001 - refused: said in the form, which stays usable
            return refused(e, 5)
        return text, app.admin.status_markdown(), None, False, gr.update(choices=app.admin.deletable(session, client), value=None)

    def remove(session, source: str | None, confirmed: bool, request: gr.Request, progress=gr.Progress()):
        client = client_address(request)
        try:
            app.admin.require(session, client)
            if not confirmed:
                raise UserError("Vink eerst aan dat je het document echt wilt verwijderen.")
            text = app.admin.delete(session, client, source, progress_reporter(progress))
        except Exception as e:  # noqa: BLE001
            return refused(e, 4)
        return text, app.admin.status_markdown(), gr.update(choices=app.admin.deletable(session, client), value=None), False

    @shown_errors
    def feedback_rows(session, request: gr.Request):
        return feedback_table(app.admin.feedback_rows(session, client_address(request)))

    def wire() -> None:
        login_outputs = [admin, panel, message, status, table, to_delete, password, login_row]
        # One login attempt at a time: the lockout counts every try, however fast they come.
        login.click(do_login, [password], login_outputs, api_visibility="private", concurrency_id="login",
                    concurrency_limit=1)
        password.submit(do_login, [password], login_outputs, api_visibility="private", concurrency_id="login")
        logout.click(do_logout, admin, [admin, panel, message, status, table, to_delete, login_row],
                     api_visibility="private")
        update.click(update_index, admin, [out, status], api_visibility="private", concurrency_id="admin",
                     concurrency_limit=1)
        rebuild.click(rebuild_index, admin, [out, status], api_visibility="private", concurrency_id="admin")
        upload.click(add, [admin, upload_file, replace], [out, status, upload_file, replace, to_delete],
                     api_visibility="private", concurrency_id="admin")
        delete.click(remove, [admin, to_delete, sure], [out, status, to_delete, sure], api_visibility="private",
                     concurrency_id="admin")
        refresh.click(feedback_rows, admin, table, api_visibility="private")

    return wire
