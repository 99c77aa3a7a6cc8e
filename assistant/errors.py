"""Errors users can act on. Each message names the problem and the fix."""


class AssistantError(Exception):
    """Base for every error the CLI and UI show to a user as one clear line."""


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
