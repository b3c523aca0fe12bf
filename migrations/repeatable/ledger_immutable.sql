-- The ledger is append-only: the statement triggers on journal_entries and postings call this.
-- Re-runnable (app/migrate.py): edit this file to change the function; it was first defined in
-- 0023_ledger.sql, the triggers that call it stay there.
CREATE OR REPLACE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
