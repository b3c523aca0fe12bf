-- Wakes the outbox relay (app/events.py) after every statement that inserts outbox rows.
-- Re-runnable (app/migrate.py): edit this file to change the function; it was first defined in
-- 0001_foundation.sql, the trigger that calls it stays there.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END $$;
