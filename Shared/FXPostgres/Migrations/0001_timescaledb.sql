-- Enable TimescaleDB when the server offers it. Later migrations check pg_extension and create
-- hypertables only then; on plain PostgreSQL 15 everything works with ordinary tables.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXCEPTION WHEN OTHERS THEN
            -- Available but not loadable (e.g. not in shared_preload_libraries): plain tables it is.
            RAISE NOTICE 'timescaledb not enabled: %', SQLERRM;
        END;
    END IF;
END
$$;
