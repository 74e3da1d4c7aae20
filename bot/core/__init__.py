"""The conversation core: what a returnee can do, with no transport (no aiogram, no HTTP).

Each use case takes the returnee and their input, does the work through :mod:`storage`,
and returns what happened (the engine's events and the use case's own outcome); the hosts
(Telegram, the terminal survey) only render it."""
