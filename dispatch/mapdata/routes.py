"""The console's map, from the project's own data: roads, municipal boundaries, stations. No tiles, no CDN.

One GeoJSON document per imported map, built once per process and served gzipped (about 1 MB raw): the
console draws it with Leaflet as vector layers.
"""

import gzip
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text

from dispatch.auth.deps import SessionDep, require_role
from dispatch.auth.models import Role
from dispatch.auth.service import Principal
from dispatch.deps import ServicesDep
from dispatch.errors import ServiceUnavailable
from dispatch.mapdata.schemas import MapLayersOut

router = APIRouter(prefix="/api", tags=["map"])
Viewer = Annotated[Principal, Depends(require_role(Role.call_taker, Role.dispatcher, Role.commander, Role.unit))]
ATTRIBUTION = "© OpenStreetMap contributors"

_LAYERS = text("""
SELECT
  (SELECT max(id) FROM map_imports),
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
        'type', 'Feature', 'properties', jsonb_build_object('h', highway, 'n', name),
        'geometry', ST_AsGeoJSON(ST_Simplify(geom, 0.00002), 6)::jsonb)), '[]')
   FROM (SELECT DISTINCT ON (least(source, target), greatest(source, target), osm_way_id) highway, name, geom
         FROM road_edges) r),
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
        'type', 'Feature', 'properties', jsonb_build_object('name', name),
        'geometry', ST_AsGeoJSON(ST_Simplify(geom, 0.0001), 5)::jsonb)), '[]')
   FROM municipalities),
  (SELECT coalesce(jsonb_agg(jsonb_build_object(
        'type', 'Feature', 'properties', jsonb_build_object('id', id, 'name', name, 'kind', kind),
        'geometry', ST_AsGeoJSON(location::geometry, 6)::jsonb)), '[]')
   FROM stations)""")


# Written once per imported map and sent gzipped as it is (a Response): the model documents the shape.
@router.get(
    "/map",
    response_model=MapLayersOut,
    summary="The map's vector layers (GeoJSON): roads, municipalities, stations",
)
async def layers(services: ServicesDep, request: Request, session: SessionDep, _: Viewer) -> Response:
    latest = await session.scalar(text("SELECT max(id) FROM map_imports"))
    if latest is None:
        raise ServiceUnavailable("no map is imported yet: run `dispatch load-map`")
    cached = services.map_layers
    if cached is None or cached[0] != latest:
        row = (await session.execute(_LAYERS)).one()
        body = orjson.dumps(
            {
                "attribution": ATTRIBUTION,
                "map_import": row[0],
                "roads": {"type": "FeatureCollection", "features": row[1]},
                "municipalities": {"type": "FeatureCollection", "features": row[2]},
                "stations": {"type": "FeatureCollection", "features": row[3]},
            }
        )
        cached = services.map_layers = (row[0], body, gzip.compress(body, 6))
    headers = {"Cache-Control": "private, max-age=300", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(cached[2], media_type="application/json", headers={**headers, "Content-Encoding": "gzip"})
    return Response(cached[1], media_type="application/json", headers=headers)
