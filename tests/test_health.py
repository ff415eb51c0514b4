"""Liveness, readiness and the error format."""

from httpx import ASGITransport, AsyncClient

from dispatch.app import create_app


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_every_service_and_the_map_are_there(client, imported_map):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["postgis_version"].startswith("3")
    assert body["checks"]["road_nodes"] == imported_map.counts["road_nodes"]


async def test_not_ready_when_redis_is_unreachable(settings, imported_map):
    app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["redis"] is False
    assert body["checks"]["postgres"] is True and body["checks"]["map_loaded"] is True
    assert "redis" in body["errors"]


async def test_not_ready_when_postgres_is_unreachable(settings):
    app = create_app(settings.model_copy(update={"database_url": "postgresql://postgres@127.0.0.1:1/none"}))
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client,
    ):
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["postgres"] is False
    assert response.json()["checks"]["redis"] is True


async def test_unknown_paths_are_problem_json(client):
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_openapi_is_served(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert "/api/units" in response.json()["paths"]
    assert (await client.get("/docs")).status_code == 200
