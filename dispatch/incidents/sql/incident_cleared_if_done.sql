-- The incident is cleared (cleared_at, once) when no unit is still on it and some unit was done there: the one
-- place this is written, as the event replay says it (dispatch.incidents.events). Called by end_assignment
-- after each assignment it ends, and by the stand-down of an incident that is over, which may have no unit
-- left to end (the last one was diverted). The caller holds the incident's lock. True if it is cleared now.
CREATE OR REPLACE FUNCTION incident_cleared_if_done(p_incident bigint) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
    UPDATE incidents i SET cleared_at = now()
    WHERE i.id = p_incident AND i.cleared_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM assignments a
                      WHERE a.incident_id = p_incident AND a.status IN {{ACTIVE_ASSIGNMENT}})
      AND EXISTS (SELECT 1 FROM assignments a WHERE a.incident_id = p_incident AND a.status = 'cleared');
    RETURN FOUND;
END
$fn$
