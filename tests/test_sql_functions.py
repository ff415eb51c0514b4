"""The server-side functions have one home each (dispatch/<domain>/sql/<name>.sql), and the status sets one
definition (dispatch.statuses): the database holds exactly what the files say."""

import pytest
from sqlalchemy import create_engine, text

from dispatch import sqlfunctions
from dispatch.setup import migrate
from dispatch.statuses import ACTIVE_ASSIGNMENT, SETS, AssignmentStatus, sql_in


def test_every_function_in_the_database_is_its_file(settings):
    engine = create_engine(settings.sync_database_url)
    with engine.connect() as conn:
        held = sqlfunctions.installed(conn)
        ours = conn.execute(
            text("""
            SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
            WHERE n.nspname = current_schema() AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
              AND d.objid IS NULL""")
        ).scalars()
        ours = set(ours)
    engine.dispose()
    files = {fn.name: fn for fn in sqlfunctions.functions()}
    assert {"unit_report", "dispatch_write", "end_assignment", "incident_events_append_only"} <= set(files)
    assert ours == set(files), "a PL/pgSQL function in the database has no file, or a file was never applied"
    for name, fn in files.items():
        assert held[name] == fn.body, f"{fn.path} differs from what the database holds"


def test_status_sets_reach_sql_written_out_from_the_enums():
    sql = sqlfunctions.create("unit_report")
    assert "{{" not in sql
    assert sql_in(ACTIVE_ASSIGNMENT) in sql
    assert sql_in(ACTIVE_ASSIGNMENT) == "('assigned', 'acknowledged', 'en_route', 'on_scene')"
    assert all(isinstance(s, AssignmentStatus) for s in ACTIVE_ASSIGNMENT)
    assert set(SETS) >= {"OPEN_INCIDENT", "ACTIVE_ASSIGNMENT", "FREE_UNIT", "DIVERTIBLE_UNIT"}


def test_an_unknown_status_set_in_a_file_is_refused_by_name():
    with pytest.raises(sqlfunctions.SqlFunctionError, match="no status set ACTIVE_ASIGNMENT"):
        sqlfunctions.render("WHERE status IN {{ACTIVE_ASIGNMENT}}", "x.sql")


def test_an_edited_file_reaches_the_database_at_the_next_apply(settings):
    """As a repeatable migration: the changed function replaces the old one, and a changed signature does not
    leave the old one beside it as an overload."""
    engine = create_engine(settings.sync_database_url)
    with engine.connect() as conn, conn.begin() as tx:
        conn.execute(
            text("CREATE OR REPLACE FUNCTION end_assignment(p_x int) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$")
        )
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql "
                "AS $fn$ BEGIN RETURN NULL; END $fn$"
            )
        )
        sqlfunctions.apply_all(conn)
        held = sqlfunctions.installed(conn)
        overloads = conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'end_assignment'")).scalar()
        tx.rollback()
    engine.dispose()
    assert held["incident_events_append_only"] == sqlfunctions.function("incident_events_append_only").body
    assert overloads == 1


def test_a_database_already_at_the_head_gets_the_files_at_its_next_migrate(settings):
    """`dispatch migrate` on a database with nothing left to migrate still brings its functions to the files
    (the demo's and a deployment's database, where no migration runs to create them)."""
    engine = create_engine(settings.sync_database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE OR REPLACE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql "
                "AS $fn$ BEGIN RETURN NULL; END $fn$"
            )
        )
    migrate(settings)
    with engine.connect() as conn:
        held = sqlfunctions.installed(conn)
    engine.dispose()
    assert held["incident_events_append_only"] == sqlfunctions.function("incident_events_append_only").body
