"""Adapters around the pure layers: command line, terminal survey, (later) the Telegram bot."""
