-- An open incident with units still on it is at the furthest stage one of them has reached: on scene while a
-- unit is there, en route while one is on its way, else dispatched. A unit that reports a further stage moves
-- it forward (unit_report); one that leaves (stood down, cleared, diverted) may move it back, when it was the
-- only one that far: the one on scene stood down while another is still on its way leaves the incident en
-- route. Its times stay those of the first unit at each stage. With no unit left it is not touched here
-- (cleared: incident_cleared_if_done; waiting again: incident_pending_if_bare). The event replay
-- (dispatch.incidents.events) says the same. The caller holds the incident's lock. True if it changed.
CREATE OR REPLACE FUNCTION incident_status_follows_units(p_incident bigint) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE incidents i SET status = s.stage
    FROM (SELECT (CASE max(CASE a.status WHEN 'on_scene' THEN 3 WHEN 'en_route' THEN 2 ELSE 1 END)
                      WHEN 3 THEN 'on_scene' WHEN 2 THEN 'en_route' ELSE 'dispatched' END)::incident_status AS stage
          FROM assignments a
          WHERE a.incident_id = p_incident AND a.status IN {{ACTIVE_ASSIGNMENT}}
          HAVING count(*) > 0) s
    WHERE i.id = p_incident AND i.status IN ('dispatched', 'en_route', 'on_scene') AND i.status <> s.stage;
    RETURN FOUND;
END
$fn$
