"""No route and no dependency of a route runs in FastAPI's thread pool: a plain function there costs a thread
hop on every request (measured: intake's p50 at 100 calls/s went from 6.5 ms to 26-70 ms when four small
dependencies were plain functions)."""

import inspect

from fastapi.routing import APIRoute, APIWebSocketRoute

from dispatch.app import create_app
from tests.test_auth import all_routes


def _blocking(call) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else getattr(call, "__call__", call)  # noqa: B004
    return not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target))


def _walk(dependant, where: str, found: list[str]) -> None:
    for sub in dependant.dependencies:
        if sub.call is not None and _blocking(sub.call):
            found.append(f"{where}: dependency {getattr(sub.call, '__qualname__', sub.call)!r}")
        _walk(sub, where, found)


def test_every_route_and_dependency_is_async(settings):
    found: list[str] = []
    routes = [r for _, r in all_routes(create_app(settings).routes) if isinstance(r, APIRoute | APIWebSocketRoute)]
    assert len(routes) > 40  # through the included routers
    for route in routes:
        where = f"{','.join(sorted(getattr(route, 'methods', None) or {'WS'}))} {route.path}"
        if _blocking(route.endpoint):
            found.append(f"{where}: endpoint {route.endpoint.__qualname__}")
        _walk(route.dependant, where, found)
    assert not found, "runs in the thread pool:\n" + "\n".join(found)
