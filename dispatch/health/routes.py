"""Liveness and readiness, for load balancers and the demo's start-up wait."""

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from dispatch.deps import ServicesDep
from dispatch.health.schemas import HealthOut, ReadyOut
from dispatch.services import Services

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz", response_model=HealthOut, summary="The process is up")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


async def _postgres(services: Services) -> dict:
    async with services.engine.connect() as conn:
        postgis = await conn.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'postgis'"))
        imported = await conn.scalar(text("SELECT to_regclass('map_imports') IS NOT NULL"))
        roads = await conn.scalar(text("SELECT count(*) FROM road_nodes")) if imported else 0
        return {
            "postgres": True,
            "postgis": postgis is not None,
            "postgis_version": postgis,
            "map_loaded": bool(roads),
            "road_nodes": roads,
        }


async def _redis(services: Services) -> dict:
    return {"redis": bool(await services.redis.ping())}


# A JSONResponse on purpose: the status (200 or 503) is the answer load balancers read.
@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "Something is missing"}},
    summary="PostgreSQL, PostGIS, Redis and the map are all there",
)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks: dict = {"postgres": False, "postgis": False, "map_loaded": False, "redis": False}
    errors: dict[str, str] = {}
    for name, probe in (("postgres", _postgres), ("redis", _redis)):
        try:
            checks.update(await asyncio.wait_for(probe(services), CHECK_TIMEOUT_S))
        except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure, never raises
            errors[name] = f"{type(exc).__name__}: {exc}"[:300]
    ready = all(checks[k] for k in ("postgres", "postgis", "map_loaded", "redis"))
    body = {"status": "ready" if ready else "not_ready", "checks": checks, "errors": errors}
    return JSONResponse(body, status_code=200 if ready else 503)
