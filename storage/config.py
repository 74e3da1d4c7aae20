"""Settings from the environment (pydantic-settings). Secrets are ``SecretStr``: never logged."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where data and keys live. Embedded default: ``./data/rssbot.db`` and ``./data/keys.json``."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path("data"), validation_alias=AliasChoices("RSSBOT_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL"))
    #: the keyring itself (JSON, as written by ``rssbot keys generate``), for secret stores
    master_key: SecretStr | None = Field(None, validation_alias=AliasChoices("RSSBOT_MASTER_KEY"))
    #: the keyring file (default: ``<data_dir>/keys.json``); ignored when master_key is set
    key_file: Path | None = Field(None, validation_alias=AliasChoices("RSSBOT_KEY_FILE"))
    #: PostgreSQL connections per process for the statements of every update (asyncpg), at
    #: least the updates handled at once; SQLAlchemy's pool for the rest gets a quarter of
    #: it, and as many again when busy
    db_pool_size: int = Field(20, ge=1, validation_alias=AliasChoices("RSSBOT_DB_POOL_SIZE"))

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'rssbot.db').resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "keys.json"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
