"""Typed dependencies on what the service holds: a route's signature says which services it uses."""

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from dispatch.services import Services


def get_services(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
