"""unit_report() names the assignment a report is about; the outbox's epochs

A device's status used to name no assignment: after a cancel it never received, a crew's "en route" was
applied to whatever assignment the unit had by then. `unit_report` now takes the assignment a report is about
(`p_assignment`, NULL for a report about the unit only, as a dispatcher's) and refuses it, writing nothing, when
that assignment is no longer the unit's active one ('stale'); `p_assignment_status` narrows it further (the
acknowledgement watcher escalates only an assignment still `assigned`).

`outbox_epoch`: a unit's message numbers (`seq`) are counted in Redis, which keeps nothing on disk. After
Redis lost its data the count starts again at the next epoch from this sequence, in the high bits
(epoch * 2^32), so a number is never given twice (dispatch.push.outbox).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT_REPORT = """
CREATE OR REPLACE FUNCTION unit_report(p_unit bigint, p_status text, p_actor text, p_lat float8, p_lon float8,
                                       p_next jsonb, p_assignment bigint, p_assignment_status text)
RETURNS TABLE (outcome text, call_sign text, previous text, incident_id bigint,
               requeue_id bigint, requeue_priority int, requeue_ms bigint)
-- ROWS 1: one row it returns; left at the default (1,000) the planner would think the statement around it
-- costly enough to compile with JIT, some tens of milliseconds per call.
LANGUAGE plpgsql ROWS 1 AS $fn$
-- outcome: 'not_found' (no such unit), 'stale' (p_assignment, given, is not this unit's active assignment,
-- or not in p_assignment_status when that is given: nothing written), 'repeat' (already so, nothing
-- written), 'refused' (not a status the crew may report next: `previous` says what it is), 'done'. requeue_*: the incident lost this unit before
-- it reached the scene and is open: it must be matched again.
-- The active statuses are written out in each statement, not held in a variable: only so does the planner
-- match them to the partial unique index on active assignments (a variable is a parameter to it, and the
-- lookup by unit would be a scan of every assignment ever made).
DECLARE
    v_sign text;
    v_prev text;
    v_a bigint;
    v_inc bigint;
    v_a_status text;
    v_kind text;
    v_done boolean;
    v_chk text;
BEGIN
    -- Locks in the order every other writer takes them, the incident before its units (the matcher's
    -- dispatch, a dispatcher's close or cancel): a unit reporting while its incident closes must not deadlock.
    -- A report about a named assignment locks that assignment's incident (an assignment never changes incident).
    PERFORM 1 FROM incidents i
    WHERE i.id = CASE WHEN p_assignment IS NULL
                      THEN (SELECT a.incident_id FROM assignments a WHERE a.unit_id = p_unit AND a.status IN ('assigned', 'acknowledged', 'en_route', 'on_scene')
                            LIMIT 1)
                      ELSE (SELECT a.incident_id FROM assignments a WHERE a.id = p_assignment) END
    FOR UPDATE;
    SELECT u.call_sign, u.status::text, a.id, a.incident_id, a.status::text
    INTO v_sign, v_prev, v_a, v_inc, v_a_status
    FROM units u LEFT JOIN assignments a ON a.unit_id = u.id AND a.status IN ('assigned', 'acknowledged', 'en_route', 'on_scene')
    WHERE u.id = p_unit
    FOR UPDATE OF u;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'not_found', NULL::text, NULL::text, NULL::bigint, NULL::bigint, NULL::int, NULL::bigint;
        RETURN;
    END IF;
    IF p_assignment IS NOT NULL THEN
        -- Read afresh now that the incident and the unit are locked (this statement sees every change committed
        -- before it, and whoever ends or moves this unit's assignment holds one of those locks): a report about
        -- an assignment that is no longer the unit's (cancelled, closed, reassigned) must never reach another.
        SELECT a.status::text, a.incident_id INTO v_chk, v_inc FROM assignments a
        WHERE a.id = p_assignment AND a.unit_id = p_unit AND a.status IN ('assigned', 'acknowledged', 'en_route', 'on_scene');
        IF v_chk IS NULL OR (p_assignment_status IS NOT NULL AND v_chk <> p_assignment_status) THEN
            RETURN QUERY SELECT 'stale', v_sign, v_prev,
                (SELECT a.incident_id FROM assignments a WHERE a.unit_id = p_unit AND a.status IN ('assigned', 'acknowledged', 'en_route', 'on_scene')),
                NULL::bigint, NULL::int, NULL::bigint;
            RETURN;
        END IF;
        v_a := p_assignment;
        v_a_status := v_chk;
    END IF;
    IF p_status = v_prev AND p_lat IS NULL THEN
        RETURN QUERY SELECT 'repeat', v_sign, v_prev, v_inc, NULL::bigint, NULL::int, NULL::bigint;
        RETURN;
    END IF;
    IF p_next IS NOT NULL AND p_status <> v_prev AND NOT coalesce((p_next -> v_prev) ? p_status, false) THEN
        RETURN QUERY SELECT 'refused', v_sign, v_prev, v_inc, NULL::bigint, NULL::int, NULL::bigint;
        RETURN;
    END IF;

    UPDATE units SET status = p_status::unit_status, status_changed_at = now(),
           position = CASE WHEN p_lat IS NULL THEN position
                           ELSE ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326)::geography END,
           position_at = CASE WHEN p_lat IS NULL THEN position_at ELSE now() END
    WHERE id = p_unit;
    IF v_a IS NULL THEN
        RETURN QUERY SELECT 'done', v_sign, v_prev, v_inc, NULL::bigint, NULL::int, NULL::bigint;
        RETURN;
    END IF;

    IF p_status IN ('acknowledged', 'en_route', 'on_scene') THEN
        -- Times are the first time any unit got there; the status only moves forward (a unit sent later to an
        -- incident already on scene does not turn it back to en route). The event replay does the same.
        v_kind := p_status;
        UPDATE assignments SET status = p_status::assignment_status,
               acknowledged_at = CASE WHEN p_status = 'acknowledged' THEN coalesce(acknowledged_at, now())
                                      ELSE acknowledged_at END,
               en_route_at = CASE WHEN p_status = 'en_route' THEN coalesce(en_route_at, now()) ELSE en_route_at END,
               on_scene_at = CASE WHEN p_status = 'on_scene' THEN coalesce(on_scene_at, now()) ELSE on_scene_at END
        WHERE id = v_a;
        UPDATE incidents SET
               acknowledged_at = CASE WHEN p_status = 'acknowledged' THEN coalesce(acknowledged_at, now())
                                      ELSE acknowledged_at END,
               en_route_at = CASE WHEN p_status = 'en_route' THEN coalesce(en_route_at, now()) ELSE en_route_at END,
               on_scene_at = CASE WHEN p_status = 'on_scene' THEN coalesce(on_scene_at, now()) ELSE on_scene_at END,
               status = CASE WHEN p_status = 'en_route' AND status = 'dispatched' THEN 'en_route'::incident_status
                             WHEN p_status = 'on_scene' AND status IN ('dispatched', 'en_route')
                                  THEN 'on_scene'::incident_status
                             ELSE status END
        WHERE id = v_inc;
    ELSIF p_status IN ('transporting', 'at_hospital') THEN
        v_kind := p_status;
    ELSE
        -- Free again (or out of service): the assignment ends. After the scene it is cleared; before, the unit
        -- left the incident short of what its plan needs, and the incident must be matched again.
        v_done := v_a_status = 'on_scene';
        v_kind := CASE WHEN v_done THEN 'cleared' ELSE 'unassigned' END;
        UPDATE assignments SET status = CASE WHEN v_done THEN 'cleared' ELSE 'cancelled' END::assignment_status,
               cleared_at = CASE WHEN v_done THEN now() ELSE cleared_at END,
               cancelled_at = CASE WHEN v_done THEN cancelled_at ELSE now() END
        WHERE id = v_a;
    END IF;
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    VALUES (v_inc, v_kind, p_actor, jsonb_build_object('unit_id', p_unit));
    IF v_kind NOT IN ('cleared', 'unassigned') THEN
        RETURN QUERY SELECT 'done', v_sign, v_prev, v_inc, NULL::bigint, NULL::int, NULL::bigint;
        RETURN;
    END IF;

    -- The incident is cleared when no unit is still on it and some unit was done there (this one, or one
    -- before it); a unit that left early leaves a slot for the matcher to fill again.
    RETURN QUERY
    UPDATE incidents i SET
           cleared_at = CASE WHEN i.cleared_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.incident_id = v_inc AND a.status IN ('assigned', 'acknowledged', 'en_route', 'on_scene'))
                   AND EXISTS (SELECT 1 FROM assignments a WHERE a.incident_id = v_inc AND a.status = 'cleared')
               THEN now() ELSE i.cleared_at END,
           units_missing = i.units_missing + CASE
               WHEN NOT v_done AND i.status IN ('pending', 'dispatched', 'en_route', 'on_scene') THEN 1 ELSE 0 END
    WHERE i.id = v_inc
    RETURNING 'done', v_sign, v_prev, v_inc,
              CASE WHEN NOT v_done AND i.status IN ('pending', 'dispatched', 'en_route', 'on_scene')
                   THEN i.id END,
              CASE WHEN NOT v_done THEN i.priority::int END,
              (extract(epoch FROM i.received_at) * 1000)::bigint;
END
$fn$
"""


def upgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb)")
    op.execute(UNIT_REPORT)
    # 2^21 epochs of 2^32 numbers each: every seq stays below 2^53, exact in JSON and JavaScript.
    op.execute("CREATE SEQUENCE IF NOT EXISTS outbox_epoch MINVALUE 1 MAXVALUE 2097151 NO CYCLE")


def downgrade() -> None:
    op.execute("DROP SEQUENCE IF EXISTS outbox_epoch")
    op.execute("DROP FUNCTION IF EXISTS unit_report(bigint, text, text, float8, float8, jsonb, bigint, text)")
    path = Path(__file__).with_name("0006_unit_report.py")
    spec = importlib.util.spec_from_file_location("unit_report_0006", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute(module.UNIT_REPORT)
