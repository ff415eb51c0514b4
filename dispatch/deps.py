"""Typed dependencies on what the service holds: a route's signature says which services it uses.

`ServicesDep` is the whole (for the websocket handlers, which use most of it); a route takes the one or two it
needs, e.g. `after_commit: AfterCommitDep, geocoders: GeocodersDep`.
"""

from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from dispatch.aftercommit import AfterCommit
from dispatch.geocoding.service import GeocoderHolder
from dispatch.keys import Keys
from dispatch.matching.dispatching import DispatchService
from dispatch.matching.eta import RouterHolder
from dispatch.matching.worker import Matcher
from dispatch.push.outbox import Outbox
from dispatch.queue.keeper import QueueKeeper
from dispatch.queue.service import IncidentQueue
from dispatch.services import Services
from dispatch.units.board import UnitBoard
from dispatch.units.reports import PositionSampler, StatusReports


async def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _part(name: str) -> Any:
    """A dependency on one of the services, by its name in `Services`. Async, as every dependency here: FastAPI
    runs a plain function in its thread pool, a thread hop per request for an attribute read."""

    async def part(services: ServicesDep) -> Any:
        return getattr(services, name)

    part.__name__ = f"get_{name}"
    return Depends(part)


AfterCommitDep = Annotated[AfterCommit, _part("after_commit")]
GeocodersDep = Annotated[GeocoderHolder, _part("geocoder")]
KeeperDep = Annotated[QueueKeeper, _part("queue_keeper")]
QueueDep = Annotated[IncidentQueue, _part("queue")]
BoardDep = Annotated[UnitBoard, _part("board")]
MatcherDep = Annotated[Matcher, _part("matcher")]
DispatcherDep = Annotated[DispatchService, _part("dispatcher")]
StatusesDep = Annotated[StatusReports, _part("statuses")]
PositionsDep = Annotated[PositionSampler, _part("positions")]
OutboxDep = Annotated[Outbox, _part("outbox")]
RoutersDep = Annotated[RouterHolder, _part("routers")]
RedisDep = Annotated[aioredis.Redis, _part("redis")]
KeysDep = Annotated[Keys, _part("keys")]
SessionsDep = Annotated[async_sessionmaker[AsyncSession], _part("sessionmaker")]
EngineDep = Annotated[AsyncEngine, _part("engine")]
