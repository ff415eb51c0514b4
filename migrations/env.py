"""Alembic environment: migrates the database named by DISPATCH_DATABASE_URL (or -x url=...)."""

from logging.config import fileConfig

from alembic import context
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool

from dispatch import sqlfunctions
from dispatch.config import get_settings
from dispatch.models import Base
from dispatch.setup import include_object

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.attributes.get("url")
        or get_settings().sync_database_url
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        # Each migration commits on its own: a value added to an enum can be used only after its commit.
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    _functions_at_head(connection)


def _functions_at_head(connection) -> None:
    """At the head, every server-side function is (re)created from its file (dispatch.sqlfunctions): an edited
    file reaches the database at its next upgrade, as a repeatable migration does."""
    heads = set(ScriptDirectory.from_config(config).get_heads())
    at_head = set(MigrationContext.configure(connection).get_current_heads()) == heads
    if connection.in_transaction():
        connection.commit()  # the read of the heads began one; the functions go in a transaction of their own
    if at_head:
        with connection.begin():
            sqlfunctions.apply_all(connection)


run_migrations_online()
