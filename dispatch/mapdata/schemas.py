"""The map's layers as the console reads them (GeoJSON)."""

from typing import Literal

from pydantic import BaseModel

from dispatch.schema_types import JsonObject


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[JsonObject]


class MapLayersOut(BaseModel):
    attribution: str
    map_import: int
    roads: FeatureCollection
    municipalities: FeatureCollection
    stations: FeatureCollection
