"""The demo's set-up (`dispatch demo`, simulator.demo): everything a first look needs, ready in seconds on a second
run."""

import asyncio
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from dispatch.auth import service
from dispatch.auth.models import Role, User
from dispatch.auth.tokens import DEMO_NAME, demo_token
from dispatch.config import Environment, Settings
from dispatch.db import make_async_engine, make_sessionmaker
from dispatch.setup import SetupError, ensure_database, import_fleet, import_map, imported_sha, migrate
from dispatch.units.models import Unit
from geo.osm.importer import file_sha256

DEMO_PEOPLE = [
    ("calltaker", Role.call_taker, "Demo call-taker"),
    ("dispatcher", Role.dispatcher, "Demo dispatcher"),
    ("commander", Role.commander, "Demo commander"),
    ("admin", Role.admin, "Demo administrator"),
]
# The simulated traffic's own accounts: what it does is logged as the simulator's, never as the person at the
# demo's console (whose log would otherwise show incidents they never closed).
SIMULATED_PEOPLE = [
    ("sim-calltaker", Role.call_taker, "Simulated call-taker"),
    ("sim-dispatcher", Role.dispatcher, "Simulated dispatcher"),
]
TOKENS_FILE = Path("var") / "demo-tokens.json"  # in the working directory, as the route cache (var/cache)
console = Console()


def unit_username(call_sign: str) -> str:
    return "unit-" + call_sign.lower().replace(" ", "-")


def _refuse_production(settings: Settings) -> None:
    """Demo tokens are derived from the secret and printed: anyone who saw a demo would hold them. Production
    refuses them (dispatch.auth.service.authenticate); here they are not even made, nor written to a file."""
    if settings.env == Environment.production:
        raise SetupError("demo accounts and their tokens are never made in production: run with DISPATCH_ENV=dev")


async def ensure_demo_accounts(settings: Settings) -> dict[str, dict[str, str]]:
    """Creates the demo people and one account per unit, each with its stable demo token."""
    _refuse_production(settings)
    engine = make_async_engine(settings)
    tokens: dict[str, dict[str, str]] = {"people": {}, "units": {}}
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            wanted = [(name, role, display, None) for name, role, display in DEMO_PEOPLE + SIMULATED_PEOPLE]
            for call_sign in (await session.scalars(select(Unit.call_sign).order_by(Unit.id))).all():
                wanted.append((unit_username(call_sign), Role.unit, call_sign, call_sign))
            for username, role, display, call_sign in wanted:
                user = await session.scalar(select(User).where(User.username == username))
                if user is None:
                    user = await service.create_user(
                        session, username=username, role=role, display_name=display, unit_call_sign=call_sign
                    )
                token = await service.issue_token(
                    session,
                    user=user,
                    secret_key=settings.secret_key,
                    name=DEMO_NAME,
                    token=demo_token(username, settings.secret_key),
                )
                tokens["units" if call_sign else "people"][call_sign or username] = token
    finally:
        await engine.dispose()
    return tokens


def crew_unit(tokens: dict[str, dict[str, str]]) -> str:
    """The unit the demo keeps for a person on the crew's device app: the simulated crews leave it alone."""
    return sorted(tokens["units"])[0]


def write_tokens_file(settings: Settings, tokens: dict[str, dict[str, str]]) -> None:
    """The demo's tokens for `dispatch simulate --live` and the benchmarks, in var/ (never in production)."""
    _refuse_production(settings)
    TOKENS_FILE.parent.mkdir(exist_ok=True)
    TOKENS_FILE.write_text(json.dumps(tokens, indent=2))


def report_day(settings: Settings) -> date:
    """The day the demo's report example names: yesterday, local time."""
    return datetime.now(ZoneInfo(settings.report_time_zone)).date() - timedelta(days=1)


def prepare(
    settings: Settings,
    *,
    base_url: str,
    map_path: Path | None = None,
    history: Callable[[Settings, date], date | None] | None = None,
) -> dict:
    """Migrate, import the map and its fleet if the map changed (else the fleet file again, if DISPATCH_FLEET_FILE is
    set), the demo accounts and their tokens file, then `history` (the simulator's past days for the reports, up to
    yesterday, from `dispatch demo`; it answers the first of them, which the report example names); prints how to
    start."""
    if not settings.is_dev:
        raise SetupError("the demo creates accounts with well-known tokens: run it with DISPATCH_ENV=dev only")
    map_path = map_path or settings.map_path
    ensure_database(settings)
    migrate(settings)
    if imported_sha(settings) != file_sha256(map_path):
        console.print(f"importing {map_path.name} (first run only)")
        import_map(settings, map_path)
    elif settings.fleet_file is not None:  # the map is there: the fleet file may have changed since
        import_fleet(settings, settings.fleet_file)
    tokens = asyncio.run(ensure_demo_accounts(settings))
    history_day = report_day(settings)
    history_first = (history(settings, history_day) if history is not None else None) or history_day
    crew = crew_unit(tokens)
    write_tokens_file(settings, {**tokens, "crew": {crew: tokens["units"][crew]}})
    table = Table("account", "role", "token", title="Demo accounts")
    for username, role, _ in DEMO_PEOPLE:
        table.add_row(username, role.value, tokens["people"][username])
    console.print(table)
    console.print(f"{len(tokens['units'])} unit devices have tokens too: {TOKENS_FILE}")
    console.print(
        f"\n[bold]Dispatch is starting at {base_url}[/]\n"
        f"  crew app   {base_url}/unit/  sign in as {crew} with the device token\n"
        f"             {tokens['units'][crew]}\n"
        f"             (the simulated crews leave {crew} to you: acknowledge its calls there)\n"
        f"  API docs   {base_url}/docs\n  readiness  {base_url}/readyz\n"
        f"  try        curl -H 'Authorization: Bearer {tokens['people']['dispatcher']}' "
        f"{base_url}/api/units\n"
        f"  report     dispatch report --from {history_first} --to {history_day} --out report.html  "
        f"(commander: {base_url}/api/reports/response-times?from={history_first}&to={history_day})\n"
        "Ctrl-C stops it.  Map data © OpenStreetMap contributors (ODbL).\n",
        soft_wrap=True,  # a token or an address cut across two lines could not be copied whole
    )
    return tokens
