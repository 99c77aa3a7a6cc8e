"""The Beheer tab's actions as plain methods: login and logout, the index status, (re)indexing with
progress, uploading, deleting, and reading the feedback. Each checks the admin session on the server:
a hidden tab is not a security boundary, its events are callable over the API."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from assistant import feedback, render
from assistant.admin import delete_document, deletable_documents, password_ok, save_upload
from assistant.config import Settings
from assistant.errors import AssistantError, UserError
from assistant.pipeline import build_index, index_status
from assistant.security import LoginGuard, clean_text

log = logging.getLogger("assistant.ui")


class AdminDesk:
    """What a logged-in maintainer (or an advisor reading feedback) can do."""

    def __init__(self, settings: Settings, guard: LoginGuard, votes: Callable[[], feedback.FeedbackStore]) -> None:
        self.settings = settings
        self.guard = guard
        self._votes = votes  # the app's feedback store, opened at first use

    def login(self, password: str | None, client: str):
        """(session, message): a session after the right password, else None and why (Dutch)."""
        # A locked-out client is refused (and logged) by the guard whatever the password.
        session = self.guard.attempt(client, password_ok(clean_text(password or "", 1000), self.settings.admin_password))
        if session is None:
            locked = self.guard.locked(client)
            return None, (f"Te veel mislukte pogingen. Probeer het over {max(1, round(locked / 60))} minuten opnieuw."
                          if locked else "Onjuist wachtwoord.")
        minutes = round(self.guard.session_seconds / 60)
        return session, f"Ingelogd. De sessie verloopt na {minutes} minuten; log uit als je klaar bent."

    def logout(self, session, client: str) -> str:
        if self.guard.valid(session, client):
            self.guard.logout(client, session)
        return "Uitgelogd."

    def require(self, session, client: str) -> None:
        """Admin methods check the login themselves: it must be live and from the client that logged in."""
        if not self.guard.valid(session, client):
            raise UserError("Log eerst (opnieuw) in met het beheerderswachtwoord.")

    def status_markdown(self) -> str:
        return render.status_markdown(index_status(self.settings))

    def reindex(self, session, client: str, full: bool = False,
                progress: Callable[[int, int, str], None] | None = None) -> str:
        self.require(session, client)
        result = build_index(self.settings, rebuild=full, progress=progress or (lambda done, total, phase: None))
        return render.index_result_markdown(result)

    def upload(self, session, client: str, path: Path, original: str, replace: bool,
               progress: Callable[[int, int, str], None] | None = None) -> str:
        """Check and save an uploaded file, then index it. A refused file leaves the corpus as it was."""
        self.require(session, client)
        try:
            saved = save_upload(path, original, self.settings.corpus_dir, self.settings.upload_max_bytes,
                                replace=bool(replace), chunking=self.settings.chunking,
                                max_passages=self.settings.document_passage_limit)
        finally:
            path.unlink(missing_ok=True)  # the upload's temporary copy: the corpus holds the checked file
        verb = "vervangen" if saved.replaced else "toegevoegd"
        return f"{render.escape(saved.path.name)} {verb}. " + self.reindex(session, client, False, progress)

    def deletable(self, session, client: str) -> list[tuple[str, str]]:
        """(label, source) of the documents a maintainer may delete, for the Beheer dropdown."""
        self.require(session, client)
        return [(f"{d.title or d.source} ({d.source})" + (" — kan niet worden gelezen" if d.problem else ""), d.source)
                for d in deletable_documents(self.settings.corpus_dir)]

    def delete(self, session, client: str, source: str | None,
               progress: Callable[[int, int, str], None] | None = None) -> str:
        self.require(session, client)
        if not source:
            raise UserError("Kies eerst het document dat je wilt verwijderen.")
        removed = delete_document(self.settings.corpus_dir, source)
        return f"{render.escape(removed.name)} verwijderd. " + self.reindex(session, client, False, progress)

    def feedback_rows(self, session, client: str) -> list[dict]:
        """The feedback log, for a logged-in admin only (it holds what visitors asked)."""
        self.require(session, client)
        try:
            return self._votes().rows(limit=500)
        except AssistantError as e:
            log.error("feedback not readable: %s", e)
            raise UserError("Het feedbacklog kan nu niet worden gelezen; zie het serverlog.") from e
