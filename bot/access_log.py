"""The access log of the bot's HTTP server (webhooks, health, metrics): one line per
request with its method, path, status and duration, never its query string (Meta's
verification handshake carries the verify token there)."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1f ms", request.method, request.path, response.status, time * 1000
        )
