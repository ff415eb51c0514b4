"""In-process geocoding of what callers say: addresses, streets, intersections, places, coordinates."""

from geo.geocoder.index import GeocoderIndex, build_index
from geo.geocoder.result import Candidate, GeocodeResult, ReverseResult
from geo.geocoder.search import Geocoder

__all__ = ["Candidate", "GeocodeResult", "Geocoder", "GeocoderIndex", "ReverseResult", "build_index"]
