-- The unit status log is append-only, as the incident event log (the triggers are in migration 0014).
CREATE OR REPLACE FUNCTION unit_status_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION 'unit_status_log is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END $fn$
