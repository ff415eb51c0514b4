-- Every change of a unit's status leaves a row in unit_status_log, in the transaction that made it (the triggers
-- are in migration 0014): a crew's report and a dispatcher's (unit_report), a dispatch (dispatch_write), the
-- stand-down of an incident that is over (dispatch.incidents.lifecycle), a unit created. A trigger rather than an
-- INSERT beside each UPDATE: no writer of units.status can forget it, today's or a later one. Out-of-service time
-- in the workload report (dispatch.reports.workload) is read from this log.
CREATE OR REPLACE FUNCTION unit_status_logged() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO unit_status_log (unit_id, at, status, previous)
    VALUES (NEW.id, now(), NEW.status, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END);
    RETURN NULL;
END $fn$
