"""Settings, from DISPATCH_* environment variables, with the local services as defaults."""

import re
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

from dispatch.reports.targets import TargetsError, targets_at
from dispatch.units.fleet import FleetError
from dispatch.units.fleet import read as read_fleet

DEV_SECRET = "dev-secret-do-not-use-in-production"
# Found through the geo package, so an installed copy finds the map it ships (package data).
BUNDLED_MAP = Path(str(resources.files("geo") / "data" / "liechtenstein.osm.pbf"))


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", env_file=".env", extra="ignore")

    env: Environment = Environment.dev
    secret_key: str = DEV_SECRET
    database_url: str = "postgresql://postgres@127.0.0.1:5432/dispatch"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Every Redis key and pub/sub channel of this deployment starts with this (pub/sub ignores database
    # numbers, so two deployments on one Redis must not share names). Unset: the database's name, which is
    # unique per deployment on one PostgreSQL (dispatch, dispatch_test, dispatch_bench).
    redis_prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    map_path: Path = BUNDLED_MAP
    # The centre's own service area, a GeoJSON polygon (`dispatch load-map --write-service-area FILE` writes the one
    # the import proposes: the region's boundary, else the extent of the map's data). Unset: the proposal.
    service_area: Path | None = None
    # The centre's fleet file (docs/fleet.md): when set, a map import (`dispatch load-map`, `dispatch demo`) writes
    # the fleet from it instead of seeding units at the map's stations (dispatch/units/seed.toml).
    fleet_file: Path | None = None
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # Redis connections a process uses at most; a command past them waits (up to 2 s) for one to come free.
    redis_pool_size: int = Field(default=64, ge=4, le=10_000)
    log_level: str = "info"

    # Intake: what counts as a suspected duplicate, and what history the call-taker sees.
    duplicate_radius_m: float = Field(default=300.0, gt=0, le=5000)
    duplicate_window_min: float = Field(default=30.0, gt=0, le=24 * 60)
    premise_radius_m: float = Field(default=50.0, gt=0, le=1000)
    history_months: int = Field(default=12, ge=1, le=120)
    repeat_address_count: int = Field(default=3, ge=2, le=100)
    repeat_address_days: int = Field(default=30, ge=1, le=365)
    # SMS and public reports wait for a call-taker's confirmation unless this is set.
    dispatch_unconfirmed: bool = False
    sms_webhook_secret: str = "dev-sms-secret"
    public_reports_per_hour: int = Field(default=5, ge=1, le=1000)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated, e.g.
    # "127.0.0.1,10.0.0.0/8"). Empty: the connecting address is the client, whatever the headers say.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(default=[])
    # The centre's languages, comma-separated two-letter codes ("fi,sv"): the keywords of the incident types
    # (types.toml) in these languages type a caller's narrative. German and English by default.
    languages: Annotated[list[str], NoDecode] = Field(default=["de", "en"])
    # The language of the incident types' names on every screen and report ("fi": "Kaatuminen" for FALL), where the
    # types file names them in it; unset, the file's own (English) names. The codes never change.
    names_language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    # The HTTP edge (dispatch/edge): the largest request body read (the largest call is some 55 kB), and how
    # long a client may take to send its request headers and its body before the connection is closed.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    body_timeout_s: float = Field(default=30.0, gt=0, le=600)
    # How long a connection may stay idle between requests. Longer than clients keep an idle connection for
    # reuse (httpx: 5 s), so that a client never sends on a connection the server is closing at that moment: a
    # request lost so (uvicorn's default is also 5 s) fails with no answer, which httpx does not retry.
    keep_alive_s: float = Field(default=30.0, gt=0, le=600)
    # A matcher's lease on the incident it works on, renewed every third of it while it lives: a dead matcher's
    # incident is taken by another within this (plus one poll). Short, so a centre never waits on a dead one.
    queue_lease_s: float = Field(default=1.5, ge=0.3, le=600)
    # Wrong, revoked or expired tokens one client address may present in a minute; past it, 429 until the minute
    # from its first failure is over (behind NAT a whole floor shares an address: keep it well above typos).
    failed_auth_per_minute: int = Field(default=20, ge=1, le=100_000)

    # Matching: which policy, which priorities go out without a dispatcher, and how the matcher paces itself.
    matcher: bool = True  # run a matcher in each service process (several processes race safely)
    matcher_concurrency: int = Field(default=4, ge=1, le=64)  # incidents one process matches at a time
    match_policy: str = Field(default="default", pattern="^(default|drive-time|straight-line)$")
    # Comma-separated ("1,2"), a JSON list ("[1,2]"), or empty (none: every incident waits for a dispatcher).
    auto_dispatch_priorities: Annotated[list[int], NoDecode] = Field(default=[1, 2, 3, 4])
    match_retry_s: float = Field(default=10.0, gt=0, le=600)  # no unit free: look again after this
    recommend_refresh_s: float = Field(default=60.0, gt=0, le=3600)  # recommendations waiting for a dispatcher
    route_cache_dir: Path = Path("var/cache")
    eta_cutoff_s: float = Field(default=3600.0, gt=0, le=6 * 3600)  # a unit further than this is no candidate
    # Move-up: idle units re-placed so that the region stays covered within the priority-1 target time.
    move_up: bool = True  # plan move-ups (the `default` policy's rule; off for the baselines)
    auto_move_up: bool = True  # send move orders to the units; otherwise propose them to the dispatchers
    coverage_target_s: float = Field(default=480.0, gt=0, le=3600)
    move_up_every_s: float = Field(default=60.0, gt=1, le=3600)

    # Push to devices and consoles.
    ack_deadline_s: float = Field(default=10.0, gt=0, le=600)  # an assignment unacknowledged this long is resent
    ws_send_queue: int = Field(default=256, ge=8, le=100_000)  # messages a socket may lag behind before closing

    # Reports: the local time zone of hours and days, the targets file (the bundled one if unset), feedback links.
    report_time_zone: str = "Europe/Vaduz"  # also the centre's clock on every screen (/api/me)
    # Distances on the screens: metres and kilometres, or feet and miles.
    distance_unit: Literal["km", "mi"] = "km"
    report_targets: Path | None = None
    public_base_url: str = "http://127.0.0.1:8000"  # where citizens open their feedback link
    feedback_valid_days: int = Field(default=14, ge=1, le=365)
    public_min_count: int = Field(default=5, ge=1, le=1000)  # fewer incidents in a cell: no percentiles shown

    # Incidents exchanged with other centres as NENA EIDO (docs/eido.md): the centre's agency identifier (a domain
    # name it owns, as NENA's agency ids are) and the issuing element, both written into every EIDO it sends.
    eido_agency: str = Field(default="ecc.dispatch.invalid", min_length=3, max_length=200, pattern=r"^[A-Za-z0-9.-]+$")
    eido_element: str = Field(
        default="cad.ecc.dispatch.invalid", min_length=3, max_length=200, pattern=r"^[A-Za-z0-9.-]+$"
    )

    # The audit trail (docs/audit.md): records older than this go with `dispatch audit purge`. Seven years by
    # default: dispatch records are evidence, and claims and inquiries about a response commonly come within
    # limitation periods of three to six years; set it to the records schedule of your jurisdiction. The
    # database keeps at least 30 days whatever this says.
    audit_retention_days: int = Field(default=2555, ge=30, le=36_500)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        try:
            return [ip_network(part, strict=False) if isinstance(part, str) else part for part in value]
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {exc} (addresses or networks, e.g. 127.0.0.1,10.0.0.0/8)") from None

    @field_validator("languages", mode="before")
    @classmethod
    def _languages(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip().lower() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not value or not all(re.fullmatch(r"[a-z]{2}", str(v)) for v in value):
            raise ValueError("languages: two-letter codes, comma-separated, e.g. de,en or fi,sv,en")
        return value

    @field_validator("auto_dispatch_priorities", mode="before")
    @classmethod
    def _priorities(cls, value: object) -> object:
        bad = ValueError(
            f"auto_dispatch_priorities: priorities are 1 to 4, e.g. 1,2 or [1,2] or empty for none; not {value!r}"
        )
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("[") and text.endswith("]"):
                text = text[1:-1]
            parts = [part.strip() for part in text.split(",") if part.strip()]
            if not all(part in ("1", "2", "3", "4") for part in parts):
                raise bad
            value = [int(part) for part in parts]
        if not isinstance(value, list | tuple | set) or any(type(p) is not int or p not in (1, 2, 3, 4) for p in value):
            raise bad
        return sorted(set(value))

    @field_validator("report_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"report_time_zone: unknown time zone {value!r} (e.g. Europe/Vaduz)") from None
        return value

    @field_validator("report_targets")
    @classmethod
    def _targets(cls, value: Path | None) -> Path | None:
        """A targets file of one's own is read now, so that a mistake in it stops the start with a message
        rather than failing the first report."""
        if value is not None:
            try:
                targets_at(value)
            except TargetsError as exc:
                raise ValueError(f"report_targets: {exc.detail}") from None
        return value

    @field_validator("fleet_file")
    @classmethod
    def _fleet(cls, value: Path | None) -> Path | None:
        """Read now, as the targets: a mistake in the file stops the command with its message."""
        if value is not None:
            try:
                read_fleet(value)
            except FleetError as exc:
                raise ValueError(f"fleet_file: {exc}") from None
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> "Settings":
        if self.env == Environment.production and self.secret_key == DEV_SECRET:
            raise ValueError(
                "DISPATCH_SECRET_KEY is the development default; set a secret of your own "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "or run with DISPATCH_ENV=dev"
            )
        if self.env == Environment.production and self.sms_webhook_secret == "dev-sms-secret":
            raise ValueError("DISPATCH_SMS_WEBHOOK_SECRET is the development default; set the SMS gateway's secret")
        if self.env == Environment.production and len(self.secret_key) < 32:
            raise ValueError("DISPATCH_SECRET_KEY must be at least 32 characters in production")
        return self

    @model_validator(mode="after")
    def _a_database_per_map(self) -> "Settings":
        """Another map than the bundled one (DISPATCH_MAP_PATH) with no database named: a database of its own,
        `dispatch_<map>` ("dispatch_helsinki" for helsinki.osm.pbf), so that two regions' demos never mix their
        stations, units and history (nor their Redis keys, named after the database)."""
        if "database_url" not in self.model_fields_set and self.map_path != BUNDLED_MAP:
            slug = map_slug(self.map_path)
            url = make_url(self.database_url)
            self.database_url = url.set(database=f"{url.database}_{slug}"[:63]).render_as_string(hide_password=False)
        return self

    @property
    def is_dev(self) -> bool:
        return self.env != Environment.production

    def _driver_url(self, driver: str) -> str:
        url = make_url(self.database_url)
        return url.set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)

    @property
    def async_database_url(self) -> str:
        return self._driver_url("asyncpg")

    @property
    def sync_database_url(self) -> str:
        return self._driver_url("psycopg")

    @property
    def libpq_url(self) -> str:
        return self._driver_url("psycopg").replace("postgresql+psycopg://", "postgresql://", 1)

    @property
    def key_prefix(self) -> str:
        """The prefix of every Redis key and channel of this deployment (see `redis_prefix`)."""
        return self.redis_prefix or self.database_name

    @property
    def database_name(self) -> str:
        return make_url(self.database_url).database or "dispatch"


def map_slug(path: Path) -> str:
    """A map file's name as a database name may end: "helsinki" for helsinki.osm.pbf."""
    return re.sub(r"[^a-z0-9]+", "_", path.name.split(".")[0].lower()).strip("_") or "map"


@lru_cache
def get_settings() -> Settings:
    return Settings()
