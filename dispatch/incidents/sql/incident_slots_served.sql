-- The response plan's slots an incident has served, as {slot: units}: the one rule for what a plan still lacks
-- (the matcher's remainder, a dispatch's, the dispatcher's recommendations, and so units_missing, which the open
-- list and the queue read). A slot is served by a unit on it now, and by one that reached the scene (an on-scene
-- time on its assignment), even if it has since cleared, is transporting or at hospital: its part was done, and
-- sending another would only repeat it. Only a slot never reached and not held now is missing. Slot 'extra' (a
-- dispatcher's unit beyond the plan) is counted too, and matches no capability of a plan.
CREATE OR REPLACE FUNCTION incident_slots_served(p_incident bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $fn$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(s.slot, s.n), '{}'::jsonb)
            FROM (SELECT a.slot, count(*) AS n FROM assignments a
                  WHERE a.incident_id = p_incident
                    AND (a.status IN {{ACTIVE_ASSIGNMENT}} OR a.on_scene_at IS NOT NULL)
                  GROUP BY a.slot) s);
END
$fn$
