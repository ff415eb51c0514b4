"""The audit trail: every write and every read of personal data, append-only, in the change's transaction."""
