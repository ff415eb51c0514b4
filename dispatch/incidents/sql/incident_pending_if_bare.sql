-- An incident that lost its last unit before any unit reached it waits for units again: it goes back to
-- 'pending' (with a 'queued' event, so the log replays it) and so into the queue as any waiting call, and the
-- open list and the queue agree that it waits. The one place this is written; called by end_assignment (a crew
-- left early, a unit set out of service as not responding, a dispatcher's stand-down of one unit) and by
-- dispatch_write (its last unit diverted). The caller holds the incident's lock. True if it waits again now.
CREATE OR REPLACE FUNCTION incident_pending_if_bare(p_incident bigint, p_actor text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE incidents i SET status = 'pending', queued_at = coalesce(i.queued_at, now())
    -- Bare: no slot served, by the rule of incident_slots_served (no unit on it, none ever reached it).
    WHERE i.id = p_incident AND i.status IN ('dispatched', 'en_route') AND i.on_scene_at IS NULL
      AND incident_slots_served(p_incident) = '{}'::jsonb;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO incident_events (incident_id, kind, actor, payload)
    VALUES (p_incident, 'queued', p_actor, '{"units_left": 0}'::jsonb);
    RETURN true;
END
$fn$
