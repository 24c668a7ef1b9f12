/// The database roles of a least-privilege deployment: one per service, each able to do exactly its job.
///
/// | role            | can                                                                          |
/// |-----------------|------------------------------------------------------------------------------|
/// | `fx_migrator`   | owns the schema's objects: runs migrations (`fxadmin setup`) and the grants  |
/// | `fx_ingest`     | nothing (the ingestor never touches the database; the role cannot log in)    |
/// | `fx_aggregator` | reads and writes `candles`, `ticks`, `aggregator_offsets`                     |
/// | `fx_backfiller` | reads and writes `gaps`, `gap_events`, `confirmed_empty`, `rate_buckets`; reads, inserts and updates `candles` |
/// | `fx_monitor`    | reads `candles`                                                              |
///
/// Every service role also reads `schema_migrations` (services wait until the schema is current) and may
/// create temporary tables (the candle writers stage rows in them). No service role can change the schema.
///
/// Two scripts, both idempotent:
/// - ``setupScript`` (`fxadmin roles`, or printed by `fxadmin roles --print-sql` for a DBA): run once by a
///   role with CREATEROLE that owns the database (or a superuser). Creates the roles (without passwords:
///   set them, or use certificates, as the server's authentication requires), takes CONNECT and TEMPORARY
///   on the database away from PUBLIC and gives them to the service roles, gives `fx_migrator` the right to
///   create in schema `public`, moves FXStream's existing tables and functions to `fx_migrator` (each
///   previous owner that is not a superuser becomes a member of it, so it keeps working), refuses when
///   `PUBLIC` could still create in `public` (PostgreSQL before 15, run by a non-owner), then grants as ``grantScript``.
/// - ``grantScript`` (`fxadmin setup` runs it after every migration, as the schema's owner): the table
///   grants of the roles that exist; a database without the roles is left as it is.
public enum DatabaseRoles {
    public static let migrator = "fx_migrator"
    public static let services = ["fx_ingest", "fx_aggregator", "fx_backfiller", "fx_monitor"]

    /// Every table FXStream's migrations create, and its functions (their signatures).
    static let tables = ["schema_migrations", "candles", "ticks", "aggregator_offsets", "rate_buckets", "gaps", "gap_events", "confirmed_empty"]
    static let functions = ["fxstream_now_ns()", "gap_coverage(text, text, timestamptz, timestamptz)"]

    /// The table grants, per role.
    public static let grantScript = """
        DO $fxstream_grants$
        BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fx_aggregator') THEN
                GRANT SELECT ON schema_migrations TO fx_aggregator;
                GRANT SELECT, INSERT, UPDATE, DELETE ON candles, ticks, aggregator_offsets TO fx_aggregator;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fx_backfiller') THEN
                GRANT SELECT ON schema_migrations TO fx_backfiller;
                GRANT SELECT, INSERT, UPDATE, DELETE ON gaps, gap_events, confirmed_empty, rate_buckets TO fx_backfiller;
                GRANT SELECT, INSERT, UPDATE ON candles TO fx_backfiller;
                GRANT USAGE, SELECT ON SEQUENCE gaps_id_seq TO fx_backfiller;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fx_monitor') THEN
                GRANT SELECT ON schema_migrations, candles TO fx_monitor;
            END IF;
        END
        $fxstream_grants$;
        """

    /// The roles, the database's privileges and the schema's ownership; then ``grantScript`` when the
    /// schema exists (a fresh database gets its grants from the first `fxadmin setup`).
    public static var setupScript: String {
        let tableList = tables.map { "'\($0)'" }.joined(separator: ", ")
        let functionList = functions.map { "'\($0)'" }.joined(separator: ", ")
        return """
            DO $fxstream_roles$
            DECLARE
                r text;
                db text := current_database();
                object text;
                owner text;
                owner_is_superuser boolean;
                superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fx_migrator') THEN
                    CREATE ROLE fx_migrator LOGIN;
                END IF;
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fx_ingest') THEN
                    CREATE ROLE fx_ingest NOLOGIN;
                END IF;
                FOREACH r IN ARRAY ARRAY['fx_aggregator', 'fx_backfiller', 'fx_monitor'] LOOP
                    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                        EXECUTE format('CREATE ROLE %I LOGIN', r);
                    END IF;
                END LOOP;
                -- Only the named roles may connect; none but the migrator may create anything.
                EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', db);
                EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO fx_migrator, fx_aggregator, fx_backfiller, fx_monitor', db);
                EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM fx_ingest', db);
                REVOKE CREATE ON SCHEMA public FROM PUBLIC;
                GRANT USAGE, CREATE ON SCHEMA public TO fx_migrator;
                GRANT USAGE ON SCHEMA public TO fx_aggregator, fx_backfiller, fx_monitor;
                -- TimescaleDB can only be created by a superuser: here, so the migrator's first migration finds it.
                IF superuser AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
                    IF current_setting('shared_preload_libraries') ~ '(^|[ ,])"?timescaledb"?($|[ ,])'
                       AND coalesce(current_setting('fxstream.timescaledb', true), '') <> 'off' THEN
                        CREATE EXTENSION IF NOT EXISTS timescaledb;
                    END IF;
                END IF;
                -- An existing deployment: its objects move to the migrator. Whoever runs this must be able to act
                -- as fx_migrator; each previous owner that is not a superuser becomes a member of it, so a
                -- service still connecting as that owner keeps working (through the membership) until moved.
                IF NOT superuser AND NOT pg_has_role(current_user, 'fx_migrator', 'MEMBER') THEN
                    EXECUTE format('GRANT fx_migrator TO %I', current_user);
                END IF;
                FOREACH object IN ARRAY ARRAY[\(tableList)] LOOP
                    owner := NULL;
                    SELECT r.rolname, r.rolsuper INTO owner, owner_is_superuser
                    FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = to_regclass('public.' || object);
                    IF owner IS NOT NULL AND owner <> 'fx_migrator' THEN
                        IF NOT owner_is_superuser AND NOT pg_has_role(owner, 'fx_migrator', 'MEMBER') THEN
                            EXECUTE format('GRANT fx_migrator TO %I', owner);
                        END IF;
                        EXECUTE format('ALTER TABLE public.%I OWNER TO fx_migrator', object);
                    END IF;
                END LOOP;
                FOREACH object IN ARRAY ARRAY[\(functionList)] LOOP
                    IF to_regprocedure('public.' || object) IS NOT NULL THEN
                        EXECUTE format('ALTER FUNCTION public.%s OWNER TO fx_migrator', object);
                    END IF;
                END LOOP;
                -- Before PostgreSQL 15 schema public belongs to the bootstrap superuser: a database owner's REVOKE
                -- above is then only a warning, and every role could still create tables. Refuse to pretend.
                IF has_schema_privilege('fx_aggregator', 'public', 'CREATE') THEN
                    RAISE EXCEPTION 'PUBLIC can still create in schema public (it belongs to %): run fxadmin roles as a superuser or as that schema''s owner',
                        (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'public');
                END IF;
            END
            $fxstream_roles$;
            """
    }
}
