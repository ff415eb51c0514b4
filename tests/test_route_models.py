"""Every HTTP route declares the model it returns (one source of truth for clients and the OpenAPI), but for a
short list of pages and files, each with its reason."""

from collections.abc import Sequence
from types import UnionType
from typing import Any, Union, get_args, get_origin

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from dispatch.app import create_app
from tests.test_auth import all_routes

# Not JSON: nothing for a model to describe.
UNDECLARED = {
    ("GET", "/"): "the landing page (HTML)",
    ("GET", "/favicon.ico"): "an SVG icon",
    ("GET", "/docs"): "the documentation page (HTML)",
    ("GET", "/public/feedback/{token}"): "the caller's feedback form (HTML)",
    ("GET", "/unit/sw.js"): "the crew app's service worker (JavaScript)",
    ("GET", "/api/reports/report.html"): "the commander's HTML report, as `dispatch report` writes it (a download)",
}


def declared(model: Any) -> bool:
    """A pydantic model, a list of them, or one of several models (a view by role); a bare dict, list or Any
    says nothing."""
    if get_origin(model) in (list, Sequence):
        args = get_args(model)
        return len(args) == 1 and declared(args[0])
    if get_origin(model) in (Union, UnionType):
        return all(declared(arg) for arg in get_args(model))
    return isinstance(model, type) and issubclass(model, BaseModel)


def undeclared(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, route in all_routes(app.routes)
        if isinstance(route, APIRoute) and not declared(route.response_model)
        for method in route.methods - {"HEAD"}
    }


def test_every_route_declares_its_model(settings):
    missing = undeclared(create_app(settings))
    assert missing - set(UNDECLARED) == set(), "declare a response_model, or list the route here with its reason"
    assert set(UNDECLARED) - missing == set(), "a listed route declares a model now (or is gone): take it off"


def test_a_route_without_a_model_is_found(settings):
    app = create_app(settings)

    @app.get("/api/bare")
    async def bare() -> dict[str, Any]:
        return {}

    @app.get("/api/bare-list")
    async def bare_list() -> list[dict[str, Any]]:
        return []

    assert undeclared(app) - set(UNDECLARED) == {("GET", "/api/bare"), ("GET", "/api/bare-list")}
