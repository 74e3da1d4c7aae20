"""The Telegram host: the bot's wiring (``app``), its conversations (``handlers`` for
returnees, ``staff`` for staff), keyboards and typed callback data, middlewares, the
webhook, the round sender, and what workers share through Redis."""
