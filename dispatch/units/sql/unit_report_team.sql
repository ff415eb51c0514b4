-- A status report (unit_report) and, when it changed the status of a unit on an incident, the team on that
-- incident as it stands after it (dispatch.push.team): the crews on a multi-unit incident are told who is on
-- it whenever one of them changes status, four or more times for every unit sent. Read here, after the
-- report's own writes and in its transaction, it costs no round trip, session or transaction of its own.
CREATE OR REPLACE FUNCTION unit_report_team(p_unit bigint, p_status text, p_actor text, p_lat float8, p_lon float8,
                                            p_next jsonb, p_assignment bigint, p_assignment_status text,
                                            p_audit jsonb, p_device_at timestamptz)
RETURNS TABLE (outcome text, call_sign text, previous text, incident_id bigint,
               requeue_id bigint, requeue_priority int, requeue_ms bigint, team jsonb)
LANGUAGE plpgsql ROWS 1 AS $fn$
DECLARE
    r record;
    v_team jsonb;
BEGIN
    SELECT * INTO r FROM unit_report(p_unit, p_status, p_actor, p_lat, p_lon, p_next, p_assignment,
                                     p_assignment_status, p_audit, p_device_at) u;
    -- A new command: it sees what unit_report wrote.
    IF r.outcome = 'done' AND r.previous <> p_status AND r.incident_id IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'unit_id', a.unit_id, 'call_sign', u.call_sign, 'status', a.status::text,
                   'due_ms', (extract(epoch FROM a.assigned_at) * 1000 + a.eta_s * 1000)::bigint) ORDER BY a.id),
               '[]'::jsonb)
        INTO v_team
        FROM assignments a JOIN units u ON u.id = a.unit_id
        WHERE a.incident_id = r.incident_id AND a.status IN {{ACTIVE_ASSIGNMENT}};
    END IF;
    RETURN QUERY SELECT r.outcome, r.call_sign, r.previous, r.incident_id, r.requeue_id, r.requeue_priority,
                        r.requeue_ms, v_team;
END
$fn$
