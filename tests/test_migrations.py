"""The migrations build exactly the models' schema, and come down cleanly."""

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from dispatch.models import Base
from dispatch.setup import alembic_config, include_object, recreate_database


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows} - {"spatial_ref_sys"}


def _enums(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT typname FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid").fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(settings):
    scratch = settings.model_copy(update={"database_url": settings.database_url + "_migrations"})
    recreate_database(scratch)
    config = alembic_config(scratch)
    command.upgrade(config, "head")
    expected = set(Base.metadata.tables)
    assert _tables(scratch.libpq_url) == expected | {"alembic_version"}

    command.downgrade(config, "base")
    assert _tables(scratch.libpq_url) == {"alembic_version"}
    assert _enums(scratch.libpq_url) == set()

    command.upgrade(config, "head")
    assert _tables(scratch.libpq_url) == expected | {"alembic_version"}


def test_models_and_migrations_agree(settings):
    engine = create_engine(settings.sync_database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object, "compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []
