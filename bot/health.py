"""/healthz (the database and Redis reachable) and /metrics (Prometheus) on a worker's web
server, whichever channels it serves."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis

from storage.store import Store


def add_health_routes(
    app: web.Application, store: Store, registry: CollectorRegistry, redis: Redis | None = None
) -> None:
    async def healthz(request: web.Request) -> web.Response:
        checks: dict[str, str] = {}
        try:
            await store.ping()
            checks["database"] = "ok"
        except Exception as exc:  # reported, not raised: this is a health check
            checks["database"] = exc.__class__.__name__
        if redis is not None:
            try:
                await redis.ping()  # type: ignore[misc]
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = exc.__class__.__name__
        healthy = all(v == "ok" for v in checks.values())
        return web.json_response(
            {"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503
        )

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
