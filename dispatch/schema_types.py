"""Field types the response schemas share."""

from typing import Annotated, Any

from pydantic import WithJsonSchema

# A time PostgreSQL wrote into a JSON document (jsonb_agg, jsonb_build_object): passed on as written.
JsonTimestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
# A JSON object whose keys vary (an event's payload, a geocoder's candidate): passed on as it is.
JsonObject = dict[str, Any]
