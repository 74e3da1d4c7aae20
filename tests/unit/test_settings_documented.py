"""Every setting the code reads is in the README's settings table with its default; every
setting .env.example names is one the code reads, its commented lines showing the same
default as the README."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from bot.consent import DataPolicy
from bot.settings import BotSettings, DisclosureSettings, MailSettings, WhatsAppSettings
from storage.config import Settings

ROOT = Path(__file__).parents[2]
CLASSES: list[type[BaseSettings]] = [
    BotSettings,
    WhatsAppSettings,
    MailSettings,
    Settings,
    DataPolicy,
    DisclosureSettings,
]


def declared() -> dict[str, object]:
    """Variable -> default, for every field of the settings classes."""
    found: dict[str, object] = {}
    for cls in CLASSES:
        for field in cls.model_fields.values():
            alias = field.validation_alias
            names = alias.choices if isinstance(alias, AliasChoices) else [alias]
            for name in names:
                assert isinstance(name, str)
                found[name] = field.default
    return found


def read_directly() -> set[str]:
    """Variables read from the environment outside the settings classes."""
    pattern = re.compile(r"environ(?:\.get\(|\[)\"([A-Z_]+)\"")
    names = set()
    for folder in ("bot", "storage", "flows", "scoring"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def readme_table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Settings (environment variables)") :]
    section = section[: section.index("\n## ", 1)]
    rows = re.findall(r"^\| `([A-Z_]+)` \| (.*?) \| .* \|$", section, flags=re.MULTILINE)
    return dict(rows)


def shown(default: object) -> str:
    """A default as the README's table writes it."""
    if default is None:
        return "-"
    if default == "":
        return "`` (empty)"
    if isinstance(default, bool):
        return f"`{int(default)}`"
    if isinstance(default, float) and default.is_integer():
        return f"`{int(default)}`"
    return f"`{default}`"


def test_every_setting_is_documented_with_its_default() -> None:
    table = readme_table()
    env_example = (ROOT / ".env.example").read_text()
    defaults = declared()
    known = {*defaults, *read_directly()}
    for name in known:
        assert name in table, f"{name} is not in the README's settings table"
    compose_only = {"RSSBOT_DOMAIN", "POSTGRES_PASSWORD"}  # (read by docker-compose.yml)
    for name in re.findall(r"^#? ?([A-Z_]+)=", env_example, re.MULTILINE):
        assert name in known | compose_only, f".env.example names {name}, which nothing reads"
    for name, default in defaults.items():
        if isinstance(default, Path):
            default = str(default)
        assert table[name] == shown(default), (name, table[name], default)
    # a commented line of .env.example shows the default
    for name, value in re.findall(r"^# ([A-Z_]+)=(.*)$", env_example, re.MULTILINE):
        cell = table.get(name, "-")
        if cell.startswith("`"):
            written = cell.removesuffix(" (empty)").strip("`")
            assert value == written, (name, value, cell)
