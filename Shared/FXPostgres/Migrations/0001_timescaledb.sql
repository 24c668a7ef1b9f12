-- fxstream: supersedes checksum b8c58df6f9503e56
-- fxstream: supersedes checksum 801ffb4b7efcb0f3
-- Enable TimescaleDB when the server offers it. Later migrations check pg_extension and create
-- hypertables only then; on plain PostgreSQL everything works with ordinary tables.
-- - `fxstream.timescaledb = off` (a database or role setting) keeps this database on plain tables.
-- - Installed but not in shared_preload_libraries: CREATE EXTENSION would end the connection with a
--   FATAL that no EXCEPTION block catches, so that state is detected first and plain tables are used,
--   with one warning naming the setting to change.
-- - A migrating role that may not read server settings (the least-privilege fx_migrator, without
--   pg_read_all_settings) cannot tell whether the library is preloaded: plain tables, with a warning
--   naming the way out (a superuser creates the extension first: `fxadmin roles` does).
DO $$
BEGIN
    IF coalesce(current_setting('fxstream.timescaledb', true), '') = 'off' THEN
        RAISE NOTICE 'timescaledb not enabled: fxstream.timescaledb is off for this database';
    ELSIF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        NULL;
    ELSIF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
          AND NOT pg_has_role(current_user, 'pg_read_all_settings', 'USAGE') THEN
        RAISE WARNING 'timescaledb is available but this role cannot read shared_preload_libraries: using plain tables (have a superuser run CREATE EXTENSION timescaledb first, e.g. fxadmin roles)';
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
