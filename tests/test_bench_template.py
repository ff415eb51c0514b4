"""The bench database's template (benchmarks/bench/template.py): made once per key, copied each run; and the
bench's Redis keys cleared under its prefix only."""

import psycopg
import redis as sync_redis
from sqlalchemy.engine import make_url

from benchmarks.bench import template
from benchmarks.bench.setup import clear_keys
from tests.conftest import HELSINKI_FLEET


def renamed(settings, database: str):
    url = make_url(settings.database_url).set(database=database).render_as_string(hide_password=False)
    return settings.model_copy(update={"database_url": url})


def test_the_key_follows_what_the_template_is_made_of(settings):
    assert template.template_key(settings) == template.template_key(settings)
    with_fleet = settings.model_copy(update={"fleet_file": HELSINKI_FLEET})
    assert template.template_key(with_fleet) != template.template_key(settings)


def test_the_template_is_made_once_per_key_and_each_run_gets_a_fresh_copy(settings, monkeypatch):
    """The slow steps stand in for themselves here (a table made where they would migrate and import): made for
    a new key, not for the same one, again for another; the copy holds the template's rows, not the last run's."""
    made: list[str] = []

    def stand_in(own, *_args) -> None:
        made.append(own.database_name)
        with psycopg.connect(own.libpq_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS made (n int)")
            conn.execute("INSERT INTO made VALUES (1)")

    monkeypatch.setattr(template, "migrate", stand_in)
    monkeypatch.setattr(template, "import_map", lambda own, path: None)
    bench = renamed(settings, f"{settings.database_name}_tpl_probe")
    monkeypatch.setattr(template, "template_key", lambda _settings: "key-one")
    template.copy_of_template(bench)
    with psycopg.connect(bench.libpq_url, autocommit=True) as conn:
        conn.execute("INSERT INTO made VALUES (2)")  # what a run leaves behind
    template.copy_of_template(bench)
    assert made == [f"{bench.database_name}_template"]
    with psycopg.connect(bench.libpq_url) as conn:
        assert conn.execute("SELECT array_agg(n) FROM made").fetchone()[0] == [1]
    monkeypatch.setattr(template, "template_key", lambda _settings: "key-two")
    template.copy_of_template(bench)
    assert len(made) == 2
    admin = make_url(settings.libpq_url).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in (bench.database_name, f"{bench.database_name}_template"):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_clearing_removes_the_deployments_keys_only(settings):
    client = sync_redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    mine = [f"{settings.key_prefix}:board", *(f"{settings.key_prefix}:outbox:{n}" for n in range(2500))]
    client.mset({key: 1 for key in mine})
    client.set("another_bench:board", 1)
    clear_keys(settings)
    assert client.keys("*") == [b"another_bench:board"]
    client.flushdb()
