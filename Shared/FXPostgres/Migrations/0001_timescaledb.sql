-- fxstream: supersedes checksum b8c58df6f9503e56
-- Enable TimescaleDB when the server offers it. Later migrations check pg_extension and create
-- hypertables only then; on plain PostgreSQL everything works with ordinary tables.
-- - `fxstream.timescaledb = off` (a database or role setting) keeps this database on plain tables.
-- - Installed but not in shared_preload_libraries: CREATE EXTENSION would end the connection with a
--   FATAL that no EXCEPTION block catches, so that state is detected first and plain tables are used,
--   with one warning naming the setting to change.
DO $$
BEGIN
    IF coalesce(current_setting('fxstream.timescaledb', true), '') = 'off' THEN
        RAISE NOTICE 'timescaledb not enabled: fxstream.timescaledb is off for this database';
    ELSIF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        NULL;
    ELSIF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        IF current_setting('shared_preload_libraries') !~ '(^|[ ,])"?timescaledb"?($|[ ,])' THEN
            RAISE WARNING 'timescaledb is installed but not preloaded: add it to shared_preload_libraries (shared_preload_libraries = ''timescaledb'') and restart the server; using plain tables';
        ELSE
            BEGIN
                CREATE EXTENSION IF NOT EXISTS timescaledb;
            EXCEPTION WHEN OTHERS THEN
                RAISE WARNING 'timescaledb not enabled: %', SQLERRM;
            END;
        END IF;
    END IF;
END
$$;
