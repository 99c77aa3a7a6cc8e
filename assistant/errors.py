"""Errors users can act on. Each message names the problem and the fix."""


class AssistantError(Exception):
    """Base for every error the CLI and UI show to a user as one clear line.

    The message is for the CLI and the log (English). `nl`, when given, is what the web app shows instead
    (Dutch, naming the problem and the fix); without it the app shows its Dutch text for the error's kind.
    """

    def __init__(self, *args: object, nl: str | None = None) -> None:
        super().__init__(*args)
        self.nl = nl


class ConfigError(AssistantError):
    """A setting has a value we cannot use."""


class CorpusError(AssistantError):
    """The corpus cannot be indexed (e.g. it holds no usable documents)."""


class IndexMissingError(AssistantError):
    """No index has been built yet."""


class IndexMismatchError(AssistantError):
    """The index was built with another embedder or chunking than the settings ask for."""


class StoreError(AssistantError):
    """A store failed: the Chroma index (unreachable server, corrupted or unwritable index) or the feedback
    database (unreachable PostgreSQL, unwritable SQLite file)."""


class EmbedderError(AssistantError):
    """The embedding model cannot be loaded or used."""


class GoldSetError(AssistantError):
    """An evaluation gold file cannot be read."""


class UserError(AssistantError):
    """A refusal written for the app's user, in their language (Dutch): shown as it is."""
