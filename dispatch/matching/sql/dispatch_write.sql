-- A dispatch as one server-side call (dispatch.matching.service.write_dispatch): it locks the incident,
-- checks that the response plan still has the slots the decision fills (another matcher or a dispatcher may
-- have filled them meanwhile), and writes the assignments, the units' status, the incident's status and time,
-- the diverted units' old assignments and every event. One round trip on the way from a call to the crew.
CREATE OR REPLACE FUNCTION dispatch_write(p_incident bigint, p_plan jsonb, p_picks jsonb, p_actor text,
                                          p_mode text, p_audit jsonb)
RETURNS TABLE (outcome text, detail text, units_missing int, assignments jsonb, diverted jsonb)
-- ROWS 1: one row it returns; left at the default (1,000) the planner would think the statement around it
-- costly enough to compile with JIT, some tens of milliseconds per call.
LANGUAGE plpgsql ROWS 1 AS $fn$
-- p_plan: {capability: units the plan wants}. p_picks: [{unit_id, slot, eta_s, reason, diverted_from}], where
-- slot 'extra' is a dispatcher's choice beyond the plan. outcome: 'closed' (the incident is no longer open
-- for dispatch), 'filled' (detail: the capability whose slots were filled meanwhile) or 'done'. A chosen unit
-- that PostgreSQL does not have free raises SQLSTATE DW001, and a unit already on another incident the unique
-- index's violation: either way nothing is written.
-- The active statuses are written out, not held in a variable, so that the planner can use the partial index
-- on active assignments (see unit_report).
DECLARE
    v_status text;
    v_remaining jsonb;
    v_missing int;
    v_pick jsonb;
    v_slot text;
    v_left int;
    v_open int;
    v_units_ok boolean;
    v_assignments jsonb;
    v_diverted jsonb;
BEGIN
    SELECT i.status::text INTO v_status FROM incidents i WHERE i.id = p_incident FOR UPDATE;
    IF v_status IS NULL OR v_status NOT IN {{DISPATCHABLE_INCIDENT}} THEN
        RETURN QUERY SELECT 'closed', NULL::text, NULL::int, NULL::jsonb, NULL::jsonb;
        RETURN;
    END IF;
    -- What the plan still lacks, by the one rule (incident_slots_served): a slot a unit reached is not missing.
    SELECT coalesce(jsonb_object_agg(p.key, p.value::int - coalesce((f.served ->> p.key)::int, 0)), '{}')
    INTO v_remaining
    FROM jsonb_each_text(p_plan) p CROSS JOIN (SELECT incident_slots_served(p_incident) AS served) f;
    FOR v_pick IN SELECT * FROM jsonb_array_elements(p_picks) LOOP
        v_slot := v_pick ->> 'slot';
        CONTINUE WHEN v_slot = 'extra';
        v_left := coalesce((v_remaining ->> v_slot)::int, 0);
        IF v_left <= 0 THEN
            RETURN QUERY SELECT 'filled', v_slot, NULL::int, NULL::jsonb, NULL::jsonb;
            RETURN;
        END IF;
        v_remaining := jsonb_set(v_remaining, ARRAY[v_slot], to_jsonb(v_left - 1));
    END LOOP;
    SELECT coalesce(sum(greatest(0, value::int)), 0) INTO v_missing FROM jsonb_each_text(v_remaining);

    WITH picked AS (
        SELECT * FROM jsonb_to_recordset(p_picks)
            AS p(unit_id bigint, slot text, eta_s float8, reason text, diverted_from bigint)
    ), inc AS (
        UPDATE incidents SET status = CASE WHEN status = 'pending' THEN 'dispatched' ELSE status END,
                             dispatched_at = coalesce(dispatched_at, now()), units_missing = v_missing
        WHERE id = p_incident
        RETURNING id
    ), gone AS (
        UPDATE assignments a SET status = 'cancelled', cancelled_at = now()
        FROM picked p
        WHERE a.unit_id = p.unit_id AND a.incident_id = p.diverted_from AND a.status IN {{ACTIVE_ASSIGNMENT}}
        RETURNING a.incident_id, a.unit_id
    ), ins AS (
        INSERT INTO assignments (incident_id, unit_id, slot, status, eta_s, reasons)
        SELECT inc.id, p.unit_id, p.slot, 'assigned', p.eta_s, jsonb_build_object('reason', p.reason, 'mode', p_mode)
        -- Reading all of `gone` first makes the old assignments cancelled before the new ones go in, so the
        -- unique index on active assignments never sees a diverted unit twice.
        FROM picked p, inc, (SELECT count(*) FROM gone) AS done_diverting
        RETURNING id, unit_id, slot, eta_s
    ), freed AS (
        -- PostgreSQL has the last word on who is free: a unit the board thought free but is not here is refused.
        UPDATE units u SET status = 'dispatched', status_changed_at = now()
        WHERE u.id IN (SELECT unit_id FROM ins)
          AND (u.status IN {{FREE_UNIT}} OR u.id IN (SELECT unit_id FROM gone))
        RETURNING u.id
    ), ev AS (
        INSERT INTO incident_events (incident_id, kind, actor, payload)
        SELECT p_incident, 'dispatched', p_actor,
               jsonb_build_object('unit_id', unit_id, 'assignment_id', id, 'slot', slot, 'eta_s', eta_s,
                                  'mode', p_mode)
        FROM ins
        UNION ALL
        SELECT incident_id, 'diverted', p_actor, jsonb_build_object('unit_id', unit_id, 'to', p_incident)
        FROM gone
    ), lost AS (
        UPDATE incidents SET units_missing = incidents.units_missing + 1
        WHERE id IN (SELECT incident_id FROM gone)
    )
    SELECT (SELECT count(*) FROM inc),
           (SELECT count(*) FROM freed) = (SELECT count(*) FROM picked),
           coalesce((SELECT jsonb_agg(jsonb_build_object('assignment_id', id, 'unit_id', unit_id, 'slot', slot))
                     FROM ins), '[]'),
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                         'id', i.id, 'priority', i.priority,
                         'received_ms', (extract(epoch FROM i.received_at) * 1000)::bigint))
                     FROM incidents i WHERE i.id IN (SELECT incident_id FROM gone)), '[]')
    INTO v_open, v_units_ok, v_assignments, v_diverted;
    IF NOT v_units_ok THEN
        RAISE EXCEPTION 'a chosen unit is not free (the board was behind PostgreSQL)' USING ERRCODE = 'DW001';
    END IF;
    -- An incident that lost its last unit to this one, after another was done there, is cleared, as the event
    -- replay says (incident_cleared_if_done; the `lost` update above holds its row).
    PERFORM incident_cleared_if_done((d ->> 'id')::bigint) FROM jsonb_array_elements(v_diverted) d;
    -- One that keeps other units is at their stage (incident_status_follows_units).
    PERFORM incident_status_follows_units((d ->> 'id')::bigint) FROM jsonb_array_elements(v_diverted) d;
    -- One that lost its last unit before any unit reached it waits again, as a pending call (the caller queues it).
    PERFORM incident_pending_if_bare((d ->> 'id')::bigint, p_actor) FROM jsonb_array_elements(v_diverted) d;
    -- The audit record, in the same statement (dispatch.audit: p_audit names who, NULL for none).
    INSERT INTO audit_records (actor_id, actor, role, address, action, object_type, object_id, after)
    SELECT (p_audit ->> 'actor_id')::bigint, p_audit ->> 'actor', p_audit ->> 'role', p_audit ->> 'address',
           'assignment.create', 'incident', p_incident::text,
           jsonb_build_object('assignments', v_assignments, 'mode', p_mode)
    WHERE p_audit IS NOT NULL;
    RETURN QUERY SELECT 'done', NULL::text, v_missing, v_assignments, v_diverted;
END
$fn$
