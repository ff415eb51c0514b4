-- The audit trail is append-only, as the incident event log (the triggers are in migration 0010). The one
-- exception: DELETE of a record older than the cut-off that audit_purge() sets for its own transaction, and
-- never of a record younger than 30 days, whoever sets the cut-off.
CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    cutoff text := current_setting('dispatch.audit_purge_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> '' THEN
        IF OLD.at < cutoff::timestamptz AND OLD.at < now() - interval '30 days' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_records is append-only (% refused; records past their retention go by audit_purge)',
        TG_OP USING ERRCODE = 'restrict_violation';
END $fn$
