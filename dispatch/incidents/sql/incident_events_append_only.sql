-- The event log is append-only: corrections are new events, never edits (the trigger is in migration 0001).
CREATE OR REPLACE FUNCTION incident_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'incident_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END $fn$
