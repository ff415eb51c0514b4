"""A fresh database for load tests: the bundled map, a synthetic fleet of N units, and a token for each.

Load tests never touch the dev or test databases: they get `<name>_bench`, recreated each run (a copy of a
template made once, see template.py), and their keys in Redis database 14 removed.
"""

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psycopg
import redis
from sqlalchemy.engine import make_url

from benchmarks.bench.template import copy_of_template
from dispatch.auth.tokens import TOKEN_PREFIX, hash_token
from dispatch.config import BUNDLED_MAP, Settings
from dispatch.setup import ensure_database, import_map, migrate
from dispatch.units.seed import seed_fleet

BENCH_REDIS_DB = 14
INTAKE_REDIS_DB = 13  # benchmarks/intake.py's: its database is `<name>_intake`


@dataclass
class BenchSetup:
    settings: Settings
    env: dict[str, str]  # what a `dispatch serve` process needs to use this database
    units: dict[int, str]  # unit id -> its device's token
    call_taker: str
    dispatcher: str
    trackers: dict[int, str] = field(default_factory=dict)  # out-of-service units that only send positions
    positions: dict[int, tuple[float, float]] = field(default_factory=dict)  # every unit's starting point


def bench_settings(base: Settings, suffix: str = "bench", redis_db: int = BENCH_REDIS_DB) -> Settings:
    url = make_url(base.database_url).set(database=f"{make_url(base.database_url).database or 'dispatch'}_{suffix}")
    redis_url = urlsplit(base.redis_url)._replace(path=f"/{redis_db}").geturl()
    return base.model_copy(update={"database_url": url.render_as_string(hide_password=False), "redis_url": redis_url})


def prepare(base: Settings, *, units: int, seed: int, trackers: int = 0) -> BenchSetup:
    """`units` dispatchable units with device tokens, and `trackers` more that are out of service and only
    report positions (for the position load of a large region's fleet)."""
    settings = bench_settings(base)
    copy_of_template(settings)  # migrated, the bundled map imported: as recreate, migrate, import would leave it
    clear_keys(settings)
    tokens: dict[int, str] = {}
    with psycopg.connect(settings.libpq_url) as conn, conn.cursor() as cur:
        # The map's own fleet stays; the synthetic units make up the rest.
        cur.execute("SELECT count(*) FROM units")
        have = cur.fetchone()[0]
        if units + trackers > have:
            seed_fleet(cur, units + trackers - have, seed)
        cur.execute("SELECT id FROM units ORDER BY id LIMIT %s", (units,))
        chosen = [r[0] for r in cur.fetchall()]
        cur.execute("UPDATE units SET status = 'out_of_service' WHERE id <> ALL(%s)", (chosen,))
        for unit_id in chosen:
            tokens[unit_id] = _account(cur, settings, f"bench-unit-{unit_id}", "unit", unit_id)
        cur.execute("SELECT id FROM units WHERE id <> ALL(%s) ORDER BY id LIMIT %s", (chosen, trackers))
        tracker_tokens = {r[0]: "" for r in cur.fetchall()}
        for unit_id in tracker_tokens:
            tracker_tokens[unit_id] = _account(cur, settings, f"bench-tracker-{unit_id}", "unit", unit_id)
        cur.execute(
            "SELECT id, ST_Y(position::geometry), ST_X(position::geometry) FROM units WHERE position IS NOT NULL"
        )
        positions = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
        call_taker = _account(cur, settings, "bench-calltaker", "call_taker", None)
        dispatcher = _account(cur, settings, "bench-dispatcher", "dispatcher", None)
    return BenchSetup(settings, serve_env(settings), tokens, call_taker, dispatcher, tracker_tokens, positions)


def clear_keys(settings: Settings) -> None:
    """Removes the deployment's keys, all under its prefix (dispatch/keys.py): not the whole Redis database, where
    a run on another bench database (another test worker's, another checkout's) may be going on."""
    client = redis.Redis.from_url(settings.redis_url)
    batch: list[bytes] = []
    for key in client.scan_iter(match=f"{settings.key_prefix}:*", count=1000):
        batch.append(key)
        if len(batch) == 1000:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)


def serve_env(settings: Settings) -> dict[str, str]:
    return {"DISPATCH_DATABASE_URL": settings.database_url, "DISPATCH_REDIS_URL": settings.redis_url}


def prepare_intake(base: Settings) -> tuple[Settings, str]:
    """benchmarks/intake.py's database (`<name>_intake`, made with the bundled map the first time and kept: the
    benchmark cancels what it leaves) and Redis database 13, flushed; a new call-taker token each run."""
    settings = bench_settings(base, "intake", INTAKE_REDIS_DB)
    ensure_database(settings)
    migrate(settings)
    with psycopg.connect(settings.libpq_url) as conn:
        mapped = conn.execute("SELECT EXISTS (SELECT 1 FROM addresses)").fetchone()[0]
    if not mapped:
        import_map(settings, BUNDLED_MAP)
    redis.Redis.from_url(settings.redis_url).flushdb()
    with psycopg.connect(settings.libpq_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM users WHERE username = 'bench-calltaker'")
        found = cur.fetchone()
        return settings, _account(cur, settings, "bench-calltaker", "call_taker", None, found[0] if found else None)


def _account(
    cur: psycopg.Cursor, settings: Settings, username: str, role: str, unit_id: int | None, user_id: int | None = None
) -> str:
    """A new token for the account (`user_id`), made first unless given."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    if user_id is None:
        cur.execute(
            """INSERT INTO users (username, display_name, role, unit_id) VALUES (%s, %s, %s, %s)
                       RETURNING id""",
            (username, username, role, unit_id),
        )
        user_id = cur.fetchone()[0]
    cur.execute(
        """INSERT INTO api_tokens (user_id, name, token_hash, prefix) VALUES (%s, 'bench', %s, %s)""",
        (user_id, hash_token(token, settings.secret_key), token[:12]),
    )
    return token
