-- A unit's status report as one server-side call (dispatch.units.service.change_status): the most frequent
-- write there is (four or more for every unit sent), one round trip and atomic. The order of statuses a crew
-- may report stays in Python (dispatch.units.service.NEXT), passed in as p_next (NULL for a dispatcher, who
-- may correct anything).
CREATE OR REPLACE FUNCTION unit_report(p_unit bigint, p_status text, p_actor text, p_lat float8, p_lon float8,
                                       p_next jsonb, p_assignment bigint, p_assignment_status text,
                                       p_audit jsonb, p_device_at timestamptz)
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
    v_chk text;
BEGIN
    -- Locks in the order every other writer takes them, the incident before its units (the matcher's
    -- dispatch, a dispatcher's close or cancel): a unit reporting while its incident closes must not deadlock.
    -- A report about a named assignment locks that assignment's incident (an assignment never changes incident).
    PERFORM 1 FROM incidents i
    WHERE i.id = CASE WHEN p_assignment IS NULL
                      THEN (SELECT a.incident_id FROM assignments a WHERE a.unit_id = p_unit AND a.status IN {{ACTIVE_ASSIGNMENT}}
                            LIMIT 1)
                      ELSE (SELECT a.incident_id FROM assignments a WHERE a.id = p_assignment) END
    FOR UPDATE;
    SELECT u.call_sign, u.status::text, a.id, a.incident_id, a.status::text
    INTO v_sign, v_prev, v_a, v_inc, v_a_status
    FROM units u LEFT JOIN assignments a ON a.unit_id = u.id AND a.status IN {{ACTIVE_ASSIGNMENT}}
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
        WHERE a.id = p_assignment AND a.unit_id = p_unit AND a.status IN {{ACTIVE_ASSIGNMENT}};
        IF v_chk IS NULL OR (p_assignment_status IS NOT NULL AND v_chk <> p_assignment_status) THEN
            RETURN QUERY SELECT 'stale', v_sign, v_prev,
                (SELECT a.incident_id FROM assignments a WHERE a.unit_id = p_unit AND a.status IN {{ACTIVE_ASSIGNMENT}}),
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
    -- A status set by hand (a dispatcher, the acknowledgement watcher: p_audit names who, and the dispatcher's
    -- `reason` when given) is audited in this statement; a crew's own reports are the incident's event log.
    INSERT INTO audit_records (actor_id, actor, role, address, action, object_type, object_id, before, after)
    SELECT (p_audit ->> 'actor_id')::bigint, p_audit ->> 'actor', p_audit ->> 'role', p_audit ->> 'address',
           'unit.status', 'unit', p_unit::text, jsonb_build_object('status', v_prev),
           jsonb_build_object('status', p_status, 'incident_id', v_inc)
               || jsonb_strip_nulls(jsonb_build_object('reason', p_audit ->> 'reason'))
    WHERE p_audit IS NOT NULL AND p_status <> v_prev;
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
        -- Free again (or out of service): the assignment ends, and with it perhaps the incident
        -- (end_assignment). A unit that left before the scene leaves a gap the matcher must fill again.
        RETURN QUERY SELECT 'done', v_sign, v_prev, v_inc, e.requeue_id, e.requeue_priority, e.requeue_ms
                     FROM end_assignment(v_a, p_actor, true, p_device_at) e;
        IF NOT FOUND THEN
            -- Ended meanwhile (a diversion committed while this report waited for the unit's lock, when the
            -- report named no assignment): the unit's new status stands, there is nothing more to end.
            RETURN QUERY SELECT 'done', v_sign, v_prev, v_inc, NULL::bigint, NULL::int, NULL::bigint;
        END IF;
        RETURN;
    END IF;
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    VALUES (v_inc, v_kind, p_actor, jsonb_strip_nulls(jsonb_build_object('unit_id', p_unit, 'device_at', p_device_at,
                                                                          'reason', p_audit ->> 'reason')));
    RETURN QUERY SELECT 'done', v_sign, v_prev, v_inc, NULL::bigint, NULL::int, NULL::bigint;
END
$fn$
