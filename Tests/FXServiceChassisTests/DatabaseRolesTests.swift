import FXDatabaseChassis
import FXPostgres
import FXTestSupport
import Foundation
import Testing

/// A least-privilege database: `fxadmin roles` (once, by the database's owner) and `fxadmin setup` as
/// `fx_migrator` give each service a role that can do exactly its job, and the services run with them.
@Suite("Database roles: one per service, each able to do exactly its job", .serialized, .tags(.integration))
struct DatabaseRolesTests {
    static let tables = ["schema_migrations", "candles", "ticks", "aggregator_offsets", "rate_buckets", "gaps", "gap_events", "confirmed_empty"]
    /// role -> table -> the privileges it holds (every other table: none; TRUNCATE never).
    static let expected: [String: [String: Set<String>]] = [
        "fx_ingest": [:],
        "fx_aggregator": ["schema_migrations": ["SELECT"], "candles": ["SELECT", "INSERT", "UPDATE", "DELETE"],
                          "ticks": ["SELECT", "INSERT", "UPDATE", "DELETE"], "aggregator_offsets": ["SELECT", "INSERT", "UPDATE", "DELETE"]],
        "fx_backfiller": ["schema_migrations": ["SELECT"], "candles": ["SELECT", "INSERT", "UPDATE"],
                          "gaps": ["SELECT", "INSERT", "UPDATE", "DELETE"], "gap_events": ["SELECT", "INSERT", "UPDATE", "DELETE"],
                          "confirmed_empty": ["SELECT", "INSERT", "UPDATE", "DELETE"], "rate_buckets": ["SELECT", "INSERT", "UPDATE", "DELETE"]],
        "fx_monitor": ["schema_migrations": ["SELECT"], "candles": ["SELECT"]],
    ]

    static func url(_ database: String, user: String) -> String {
        database.replacingOccurrences(of: #"://[^@/]*@"#, with: "://\(user)@", options: .regularExpression)
    }

    static func fxadmin(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try Subprocess.output(ServiceProcess.binDirectory.appendingPathComponent("fxadmin").path, arguments)
    }

    /// An empty database (not migrated: the migrator creates the schema), with the roles and the schema
    /// made by `fxadmin roles` (as the test cluster's superuser) then `fxadmin setup` as fx_migrator.
    static func leastPrivilegeDatabase(_ prefix: String, topicPrefix: String) async throws -> String {
        let name = PostgresTestKit.uniqueTable(prefix)
        let admin = try await PostgresTestKit.connect()
        try await admin.query("CREATE DATABASE \(name)")
        if ProcessInfo.processInfo.environment["FX_TEST_TIMESCALEDB"] == "off" {
            try await admin.query("ALTER DATABASE \(name) SET fxstream.timescaledb = 'off'")
        }
        await admin.close()
        let database = TestEnvironment.databaseURL.replacingOccurrences(of: #"/[^/]+$"#, with: "/\(name)", options: .regularExpression)
        let roles = try fxadmin(["roles", "--database-url", database])
        #expect(roles.status == 0, "\(roles.output)")
        let setup = try fxadmin(["setup", "--database-url", url(database, user: "fx_migrator"), "--topic-prefix", topicPrefix])
        #expect(setup.status == 0 && setup.output.contains("grants\tapplied"), "\(setup.output)")
        return database
    }

    @Test("the migrator owns every table; each service role holds exactly its grants, may connect only if it uses the database, and can create nothing")
    func grants() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("roles")
        let database = try await Self.leastPrivilegeDatabase("fxroles", topicPrefix: topics.prefix)
        let admin = try await PostgresTestKit.connect(url: database)
        let owners = try await admin.query("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        #expect(Set(owners.rows.compactMap { $0["tablename"] }) == Set(Self.tables))
        #expect(owners.rows.allSatisfy { $0["tableowner"] == "fx_migrator" }, "\(owners.rows)")
        for (role, grants) in Self.expected {
            for table in Self.tables {
                for privilege in ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"] {
                    let held = try await admin.query("SELECT has_table_privilege($1, $2, $3) AS held", [role, "public." + table, privilege]).first?.decode(Bool.self, "held")
                    let wanted = grants[table, default: []].contains(privilege)
                    #expect(held == wanted, "\(role) \(privilege) on \(table): \(held.map(String.init) ?? "?"), expected \(wanted)")
                }
            }
            let row = try await admin.query("""
                SELECT has_database_privilege($1, current_database(), 'CONNECT') AS connect,
                       has_database_privilege($1, current_database(), 'CREATE') AS create_schema,
                       has_schema_privilege($1, 'public', 'CREATE') AS create_table
                """, [role]).first
            #expect(try row?.decode(Bool.self, "connect") == (role != "fx_ingest"), "\(role) CONNECT")
            #expect(try row?.decode(Bool.self, "create_schema") == false && row?.decode(Bool.self, "create_table") == false, "\(role) may create")
        }
        // As the roles themselves: the monitor reads and cannot write; no service can change the schema.
        let monitor = try await PostgresTestKit.connect(url: Self.url(database, user: "fx_monitor"))
        _ = try await monitor.query("SELECT count(*) AS n FROM candles")
        await #expect { try await monitor.query("INSERT INTO rate_buckets (bucket, tat) VALUES ('x', now())") } throws: {
            ($0 as? PostgresError)?.sqlState == .insufficientPrivilege
        }
        await monitor.close()
        let aggregator = try await PostgresTestKit.connect(url: Self.url(database, user: "fx_aggregator"))
        await #expect { try await aggregator.query("CREATE TABLE intruder (a int)") } throws: { ($0 as? PostgresError)?.sqlState == .insufficientPrivilege }
        await #expect { try await aggregator.query("ALTER TABLE candles ADD COLUMN intruder int") } throws: { ($0 as? PostgresError)?.sqlState == .insufficientPrivilege }
        await #expect { try await aggregator.query("SELECT count(*) FROM gaps") } throws: { ($0 as? PostgresError)?.sqlState == .insufficientPrivilege }
        await aggregator.close()
        // The ingestor's role cannot even log in.
        await #expect(throws: PostgresError.self) { try await PostgresTestKit.connect(url: Self.url(database, user: "fx_ingest")) }
        // Both commands are idempotent: a second run changes nothing and succeeds.
        #expect(try Self.fxadmin(["roles", "--database-url", database]).status == 0)
        #expect(try Self.fxadmin(["setup", "--database-url", Self.url(database, user: "fx_migrator"), "--topic-prefix", topics.prefix]).status == 0)
        await admin.close()
        await PostgresTestKit.dropDatabase(database)
    }

    @Test("an existing deployment's tables, owned by an ordinary role, move to fx_migrator; that owner becomes a member and keeps working")
    func existingDeployment() async throws {
        let legacy = "fxlegacy_" + UUID().uuidString.prefix(8).lowercased()
        let name = PostgresTestKit.uniqueTable("fxrolesold")
        let admin = try await PostgresTestKit.connect()
        try await admin.query("CREATE ROLE \(legacy) LOGIN")
        try await admin.query("CREATE DATABASE \(name) OWNER \(legacy)")
        let plain = ProcessInfo.processInfo.environment["FX_TEST_TIMESCALEDB"] == "off"
        if plain { try await admin.query("ALTER DATABASE \(name) SET fxstream.timescaledb = 'off'") }
        let database = TestEnvironment.databaseURL.replacingOccurrences(of: #"/[^/]+$"#, with: "/\(name)", options: .regularExpression)
        if !plain {   // as on a managed server: the extension made by the administrator, the schema by the application's role
            let superuser = try await PostgresTestKit.connect(url: database)
            _ = try? await superuser.query("CREATE EXTENSION IF NOT EXISTS timescaledb")
            await superuser.close()
        }
        let migrated = try Self.fxadmin(["migrate", "--database-url", Self.url(database, user: legacy)])
        #expect(migrated.status == 0, "\(migrated.output)")
        let roles = try Self.fxadmin(["roles", "--database-url", database])
        #expect(roles.status == 0, "\(roles.output)")
        let check = try await PostgresTestKit.connect(url: database)
        let owners = try await check.query("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        #expect(owners.rows.map { $0["tableowner"] } == ["fx_migrator"])
        let member = try await check.query("SELECT pg_has_role($1, 'fx_migrator', 'MEMBER') AS member", [legacy]).first?.decode(Bool.self, "member")
        #expect(member == true, "the previous owner acts as fx_migrator")
        let granted = try await check.query("SELECT has_table_privilege('fx_aggregator', 'public.candles', 'INSERT') AS held").first?.decode(Bool.self, "held")
        #expect(granted == true, "the grants are applied at once when the schema exists")
        await check.close()
        // A service still using the old owner's URL works on.
        let old = try await PostgresTestKit.connect(url: Self.url(database, user: legacy))
        try await old.query("INSERT INTO rate_buckets (bucket, tat) VALUES ('legacy', now())")
        _ = try await old.query("SELECT count(*) AS n FROM candles")
        await old.close()
        await PostgresTestKit.dropDatabase(database)
        try await admin.query("DROP ROLE IF EXISTS \(legacy)")
        await admin.close()
    }

    @Test("the aggregator, backfiller and monitor run with their own roles: ticks become candles, a bootstrap gap is repaired, the API serves the candles")
    func servicesRunWithTheirRoles() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("rolerun")
        let database = try await Self.leastPrivilegeDatabase("fxrolerun", topicPrefix: topics.prefix)
        let kafka = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"]
        func environment(_ role: String) -> [String: String] {
            kafka.merging(["DATABASE_URL": Self.url(database, user: role), "MIGRATE_ON_START": "false"]) { $1 }
        }
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "100", "--history-minutes", "120"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: environment("fx_aggregator"))
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix], environment: environment("fx_monitor"))
        let bootstrap = try await ServiceProcess("backfiller", subcommand: "bootstrap", arguments: ["--source", "coinbase", "--symbols", "ETH/USD", "--days", "1"],
                                                 environment: environment("fx_backfiller"))
        #expect(await bootstrap.waitForExit() == 0, "\(bootstrap.log)")
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix, "--rest-url", "coinbase=http://127.0.0.1:\(sim.port)/coinbase",
                                                                         "--settle-seconds", "2", "--poll-interval-ms", "200", "--bootstrap-days", "0"],
                                                  environment: environment("fx_backfiller"))
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD", "--ws-url",
                                                                       "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix], environment: kafka)
        let admin = try await PostgresTestKit.connect(url: database)
        let streamed = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            Int(try await admin.query("SELECT count(*) AS n FROM candles WHERE symbol = 'BTC/USD' AND origin = 'stream'").first?["n"] ?? "0") ?? 0 > 0
        }
        #expect(streamed, "fx_aggregator writes candles: \(aggregator.log.suffix(2000))")
        let repaired = try await TestEnvironment.eventually(timeout: .seconds(90)) {
            try await admin.query("SELECT status FROM gaps WHERE symbol = 'ETH/USD'").first?["status"] == "filled"
        }
        #expect(repaired, "fx_backfiller repairs a gap: \(backfiller.log.suffix(2000))")
        let served = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            await monitor.get("/api/candles?source=coinbase&symbol=BTC/USD")?.body.contains(#""open""#) == true
        }
        #expect(served, "fx_monitor reads candles: \(monitor.log.suffix(2000))")
        for service in [ingestor, aggregator, backfiller, monitor] {
            #expect(!service.log.contains("permission denied"), "\(service.log.suffix(2000))")
            #expect(await service.terminate(timeout: .seconds(30)) == 0)
        }
        await admin.close()
        await PostgresTestKit.dropDatabase(database)
    }
}
