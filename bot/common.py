"""Helpers shared by the command-line modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import typer

from bot.languages import LanguageError
from bot.programme import Programme, ProgrammeError, load_programme
from flows import FlowDefinition, FlowDefinitionError, definition_at
from storage.config import Settings
from storage.crypto import CryptoError, Keyring
from storage.store import StorageError, Store

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """A clear message on stderr and a non-zero exit code."""
    typer.echo(f"rssbot: {message}", err=True)
    raise typer.Exit(code)


def configured_definition(
    path: Path | None = None, *, language_files: bool = True
) -> FlowDefinition:
    """The survey in use: ``path``, else ``RSSBOT_FLOW`` (a YAML definition or an XLSForm
    ``.xlsx``), else the built-in RSS; with the labels every language folder holds for it
    (:func:`bot.language_packs.with_language_files`) unless ``language_files`` is false.
    A definition that cannot be used ends the command with what is wrong and where."""
    from bot.language_packs import with_language_files

    try:
        flow = definition_at(path or os.environ.get("RSSBOT_FLOW") or None)
        return with_language_files(flow) if language_files else flow
    except (FlowDefinitionError, LanguageError) as exc:
        fail(str(exc))


def configured_programme() -> Programme:
    """The programme file in use (``RSSBOT_PROGRAMME``, else the built-in one); one that
    cannot be used ends the command with what is wrong and where."""
    try:
        return load_programme()
    except ProgrammeError as exc:
        fail(str(exc))


def settings() -> Settings:
    return Settings()


async def open_store(keyring: Keyring | None = None) -> Store:
    """Open the configured store; missing or wrong keys and an old schema end the command."""
    config = settings()
    try:
        return await Store.open(config, keyring=keyring)
    except (CryptoError, StorageError) as exc:
        fail(f"{exc} (nothing was stored)")
