-- Ends one active assignment, then clears its incident if that was the last unit on it: the one place this is
-- written. Called by unit_report (a crew free again, or out of service) and by the stand-down of an incident
-- that is closed, cancelled or merged (dispatch.incidents.lifecycle). The caller holds the incident's lock.
--
-- After the scene the assignment is cleared; before it, cancelled. Then the incident may be cleared
-- (incident_cleared_if_done).
-- p_reopen: the unit left an incident that stays open short of a unit its plan wants (a crew's report, a
-- dispatcher's stand-down of that one unit before any unit reached the scene; not the stand-down of an incident
-- that is over): the incident counts the gap (units_missing) and requeue_* say it must be matched again; left
-- with no unit at all, it is pending again (incident_pending_if_bare). Only a unit that never reached the scene
-- leaves a gap, and only in a slot of the plan (not 'extra'): the rule of incident_slots_served.
CREATE OR REPLACE FUNCTION end_assignment(p_assignment bigint, p_actor text, p_reopen boolean,
                                          p_device_at timestamptz)
RETURNS TABLE (assignment_id bigint, incident_id bigint, unit_id bigint, cleared boolean,
               requeue_id bigint, requeue_priority int, requeue_ms bigint)
LANGUAGE plpgsql ROWS 1 AS $fn$
DECLARE
    v_inc bigint;
    v_unit bigint;
    v_done boolean;
    v_gap boolean;
BEGIN
    UPDATE assignments a
    SET status = CASE WHEN a.status = 'on_scene' THEN 'cleared' ELSE 'cancelled' END::assignment_status,
        cleared_at = CASE WHEN a.status = 'on_scene' THEN now() ELSE a.cleared_at END,
        cancelled_at = CASE WHEN a.status = 'on_scene' THEN a.cancelled_at ELSE now() END
    WHERE a.id = p_assignment AND a.status IN {{ACTIVE_ASSIGNMENT}}
    RETURNING a.incident_id, a.unit_id, a.status = 'cleared', a.on_scene_at IS NULL AND a.slot <> 'extra'
    INTO v_inc, v_unit, v_done, v_gap;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_gap := p_reopen AND v_gap;
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    VALUES (v_inc, CASE WHEN v_done THEN 'cleared' ELSE 'unassigned' END, p_actor,
            jsonb_strip_nulls(jsonb_build_object('unit_id', v_unit, 'device_at', p_device_at)));
    PERFORM incident_cleared_if_done(v_inc);
    PERFORM incident_status_follows_units(v_inc);  -- the units left on it say its stage
    IF p_reopen AND NOT v_done THEN
        PERFORM incident_pending_if_bare(v_inc, p_actor);
    END IF;
    RETURN QUERY
    UPDATE incidents i SET
           units_missing = i.units_missing + CASE
               WHEN v_gap AND i.status IN {{DISPATCHABLE_INCIDENT}} THEN 1 ELSE 0 END
    WHERE i.id = v_inc
    RETURNING p_assignment, v_inc, v_unit, v_done,
              CASE WHEN v_gap AND i.status IN {{DISPATCHABLE_INCIDENT}} THEN i.id END,
              CASE WHEN v_gap THEN i.priority::int END,
              (extract(epoch FROM i.received_at) * 1000)::bigint;
END
$fn$
