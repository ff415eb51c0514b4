"""`dispatch demo`: everything a first look needs, ready in seconds on a second run."""

import asyncio
import json
from datetime import datetime, time, timedelta
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
from dispatch.setup import ROOT, SetupError, import_map, imported_sha, migrate
from dispatch.units.models import Unit
from geo.osm.importer import file_sha256

DEMO_PEOPLE = [
    ("calltaker", Role.call_taker, "Demo call-taker"),
    ("dispatcher", Role.dispatcher, "Demo dispatcher"),
    ("commander", Role.commander, "Demo commander"),
    ("admin", Role.admin, "Demo administrator"),
]
TOKENS_FILE = ROOT / "var" / "demo-tokens.json"
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
            wanted = [(name, role, display, None) for name, role, display in DEMO_PEOPLE]
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


def write_tokens_file(settings: Settings, tokens: dict[str, dict[str, str]]) -> None:
    """The demo's tokens for `dispatch simulate --live` and the benchmarks, in var/ (never in production)."""
    _refuse_production(settings)
    TOKENS_FILE.parent.mkdir(exist_ok=True)
    TOKENS_FILE.write_text(json.dumps(tokens, indent=2))


def ensure_history(settings: Settings) -> str:
    """A simulated day before today for the reports, written once: on a database with no earlier incidents (in dev
    only: a test database keeps the history its tests make)."""
    import psycopg

    from simulator.commands import SimulationError
    from simulator.history import HistoryError, parse_day, record_day

    day = parse_day(None, settings.report_time_zone)
    if settings.env != Environment.dev:
        return day.isoformat()
    with psycopg.connect(settings.libpq_url) as conn:
        earlier = conn.execute(
            "SELECT 1 FROM incidents WHERE received_at < %s LIMIT 1",
            (datetime.combine(day + timedelta(days=1), time(), ZoneInfo(settings.report_time_zone)),),
        ).fetchone()
    if earlier is None:
        console.print(f"simulating {day} for the reports (first run only)")
        try:
            record_day(
                settings.libpq_url,
                settings.route_cache_dir,
                day=day,
                tz=settings.report_time_zone,
                seed=7,
                load="busy",
                per_hour=None,
            )
        except (HistoryError, SimulationError) as exc:  # the demo runs without it; say why
            console.print(f"[yellow]no simulated day for the reports:[/] {exc}")
    return day.isoformat()


def prepare(settings: Settings, *, base_url: str, map_path: Path | None = None) -> dict:
    if not settings.is_dev:
        raise SetupError("the demo creates accounts with well-known tokens: run it with DISPATCH_ENV=dev only")
    map_path = map_path or settings.map_path
    migrate(settings)
    if imported_sha(settings) != file_sha256(map_path):
        console.print(f"importing {map_path.name} (first run only)")
        import_map(settings, map_path)
    tokens = asyncio.run(ensure_demo_accounts(settings))
    history_day = ensure_history(settings)
    write_tokens_file(settings, tokens)
    table = Table("account", "role", "token", title="Demo accounts")
    for username, role, _ in DEMO_PEOPLE:
        table.add_row(username, role.value, tokens["people"][username])
    console.print(table)
    console.print(f"{len(tokens['units'])} unit devices have tokens too: {TOKENS_FILE}")
    console.print(
        f"\n[bold]Dispatch is starting at {base_url}[/]\n"
        f"  API docs   {base_url}/docs\n  readiness  {base_url}/readyz\n"
        f"  try        curl -H 'Authorization: Bearer {tokens['people']['dispatcher']}' "
        f"{base_url}/api/units\n"
        f"  report     dispatch report --from {history_day} --to {history_day} --out report.html  "
        f"(commander: {base_url}/api/reports/response-times?from={history_day}&to={history_day})\n"
        "Ctrl-C stops it.  Map data © OpenStreetMap contributors (ODbL).\n"
    )
    return tokens
