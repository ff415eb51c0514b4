"""Simulated callers' telephone numbers, of the centre's country: its time zone's (the system's zone table), else
a number no one has (the ITU's +999 is unassigned)."""

import random
from functools import lru_cache
from pathlib import Path

from dispatch.config import get_settings

ZONE_TABLES = (Path("/usr/share/zoneinfo/zone.tab"),)
# ITU-T E.164 country calling codes of the countries a demo is likely to be set in.
CALLING_CODES = {
    "LI": "423", "CH": "41", "AT": "43", "DE": "49", "FI": "358", "SE": "46", "NO": "47", "DK": "45", "IS": "354",
    "EE": "372", "LV": "371", "LT": "370", "PL": "48", "CZ": "420", "SK": "421", "HU": "36", "SI": "386",
    "HR": "385", "IT": "39", "FR": "33", "BE": "32", "NL": "31", "LU": "352", "GB": "44", "IE": "353", "ES": "34",
    "PT": "351", "GR": "30", "US": "1", "CA": "1", "AU": "61", "NZ": "64",
}  # fmt: skip


def _country(zone: str) -> str | None:
    for table in ZONE_TABLES:
        try:
            lines = table.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split("\t")
            if not line.startswith("#") and len(parts) >= 3 and parts[2] == zone:
                return parts[0]
    return None


@lru_cache
def calling_code(zone: str | None = None) -> str:
    """ "358" for Europe/Helsinki, "423" for Europe/Vaduz; "999" where the zone's country is not known."""
    country = _country(zone or get_settings().report_time_zone)
    return CALLING_CODES.get(country or "", "999")


def caller_number(rng: random.Random, zone: str | None = None, digits: int = 6) -> str:
    """A made-up mobile-looking number of the centre's country: "+358 7123456"."""
    return f"+{calling_code(zone)} 7{rng.randrange(10**digits):0{digits}d}"
