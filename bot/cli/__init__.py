"""The ``rssbot`` command line (typer), one module per command family: ``app`` (the
command tree, the terminal survey, scoring one survey, flow definitions), ``admin``
(set-up, database, keys), ``serve`` (the bot, the web console, enrolment and
invitations), ``staff`` (staff members, due lists, rounds, exports, charts)."""

from bot.cli.app import app, main

__all__ = ["app", "main"]
