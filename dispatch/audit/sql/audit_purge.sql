-- The one way out of the audit trail: the records older than p_before (the retention's cut-off), deleted with
-- the cut-off set for this transaction only, where the append-only trigger looks for it. Returns how many went.
CREATE OR REPLACE FUNCTION audit_purge(p_before timestamptz) RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
    deleted bigint;
BEGIN
    PERFORM set_config('dispatch.audit_purge_before', p_before::text, true);
    DELETE FROM audit_records WHERE at < p_before;
    GET DIAGNOSTICS deleted = ROW_COUNT;
    PERFORM set_config('dispatch.audit_purge_before', '', true);
    RETURN deleted;
END $fn$
