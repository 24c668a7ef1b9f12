import FXCandles
import Foundation
import FXAggregate
import FXCore
import FXKafka
import FXPostgres
import FXTestSupport
import Metrics
import Testing

/// A database of a test's own on the stack's server, migrated; dropped by ``drop()``.
struct FreshDatabase {
    let name: String
    let url: String
    let connection: PostgresConnection
    let report: Migrator.Report

    static func make() async throws -> FreshDatabase {
        let name = PostgresTestKit.uniqueTable("fxts")
        let admin = try await PostgresTestKit.connect()
        try await admin.query("CREATE DATABASE \(name)")
        await admin.close()
        let url = TestEnvironment.databaseURL.replacingOccurrences(of: #"/[^/]+$"#, with: "/\(name)", options: .regularExpression)
        let connection = try await PostgresTestKit.connect(url: url)
        let report = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        return FreshDatabase(name: name, url: url, connection: connection, report: report)
    }

    func drop() async {
        await connection.close()
        if let admin = try? await PostgresTestKit.connect() {
            _ = try? await admin.query("DROP DATABASE \(name) WITH (FORCE)")
            await admin.close()
        }
    }
}

@Suite("TimescaleDB: hypertable, compression, detection", .serialized, .enabled(if: PrivatePostgres.usesTimescale), .tags(.integration))
struct TimescaleTests {
    static let day: Int64 = 86_400_000_000_000

    @Test("candles is a hypertable with 7-day chunks, and migrating again changes nothing")
    func hypertable() async throws {
        let database = try await FreshDatabase.make()
        #expect(database.report.capabilities.timescaleEnabled)
        #expect(database.report.capabilities.timescaleLicense == "timescale")
        let dimension = try await database.connection.query("""
            SELECT column_name, time_interval::text AS interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'candles'
            """)
        #expect(dimension.first?["column_name"] == "bucket")
        #expect(dimension.first?["interval"] == "7 days")
        let again = try await Migrator(connection: database.connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        #expect(again.applied.isEmpty)
        await database.drop()
    }

    @Test("at the first start the aggregator creates the compression policy; its job compresses old chunks; candles read the same; older ticks are rejected")
    func compression() async throws {
        let database = try await FreshDatabase.make()
        let fixture = try await AggregatorFixture(partitions: 1)
        // History 20-30 days old, written before the aggregator ever ran.
        let timeframes = ["1m", "1h"].compactMap(Timeframe.init)
        let now = WallClock.nanoseconds()
        let start = (now - 30 * Self.day) / 60_000_000_000 * 60_000_000_000
        let ticks = Recomputation.ticks(source: fixture.source, symbols: ["TS/USD"], count: 500, start: start, seed: 21)
        let store = FencedCandleStore(timeframes: timeframes, bidAskCandles: false, consumerGroup: "history", topic: "history")
        let lease = try await store.claim(partition: 0, owner: "test", on: database.connection)
        _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: 500, ticks: ticks)], on: database.connection)
        let before = try await Recomputation.stored(source: fixture.source, on: database.connection)
        #expect(!before.isEmpty)

        var configuration = fixture.configuration
        configuration.timeframes = timeframes
        configuration.compressAfter = .seconds(7 * 86_400)
        configuration.storeTicks = true
        let archive = FencedCandleStore(timeframes: timeframes, bidAskCandles: false, consumerGroup: "archive", topic: "archive", storeTicks: true)
        let archiveLease = try await archive.claim(partition: 0, owner: "test", on: database.connection)
        let archived = Recomputation.ticks(source: fixture.source + "-a", symbols: ["TA/USD"], count: 300, start: start, seed: 22)
        _ = try await archive.flush([.init(partition: 0, generation: archiveLease.generation, nextOffset: 300, ticks: archived)],
                                    on: database.connection)
        let aggregator = AggregatorService(configuration: configuration, kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties),
                                           topics: fixture.topics, database: PostgresConfiguration(url: database.url, applicationName: "ts-test"),
                                           instance: "ts", metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("aggregator"))
        let recorder = try TopicRecorder(topics: [fixture.topics.rejects])
        try await withServices([aggregator]) {
            let job = try await TestEnvironment.eventually(timeout: .seconds(30)) {
                try await database.connection.query("""
                    SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = 'candles'
                    """).first != nil
            }
            #expect(job, "no compression policy after the first start")
            // Run the job now, from the scheduler (not from this session).
            try await database.connection.query("""
                SELECT alter_job(job_id, next_start => now()) FROM timescaledb_information.jobs
                WHERE proc_name = 'policy_compression' AND hypertable_name = 'candles'
                """)
            let compressed = try await TestEnvironment.eventually(timeout: .seconds(60)) {
                let rows = try await database.connection.query("""
                    SELECT count(*) FILTER (WHERE is_compressed) AS compressed, count(*) AS chunks
                    FROM timescaledb_information.chunks WHERE hypertable_name = 'candles'
                    """)
                return rows.first?["compressed"] != "0" && rows.first?["compressed"] == rows.first?["chunks"]
            }
            #expect(compressed, "the scheduler's compression job did not compress the old chunks")
            try await database.connection.query("""
                SELECT alter_job(job_id, next_start => now()) FROM timescaledb_information.jobs
                WHERE proc_name = 'policy_compression' AND hypertable_name = 'ticks'
                """)
            #expect(try await TestEnvironment.eventually(timeout: .seconds(60)) {
                try await database.connection.query("""
                    SELECT count(*) FILTER (WHERE NOT is_compressed) AS open FROM timescaledb_information.chunks WHERE hypertable_name = 'ticks'
                    """).first?["open"] == "0"
            }, "the tick archive's old chunks were not compressed")
            let count = try await database.connection.query("SELECT count(kind) AS n FROM ticks WHERE source = $1", [fixture.source + "-a"])
            #expect(count.first?["n"] == "300", "archived ticks read the same once compressed")
            // Both compression jobs (candles, ticks) record their run as a success; a job's stats are written
            // when its run ends, which can be just after its last chunk shows as compressed.
            #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) {
                let status = try await database.connection.query("""
                    SELECT s.last_run_status AS status FROM timescaledb_information.job_stats s
                    JOIN timescaledb_information.jobs j USING (job_id) WHERE j.proc_name = 'policy_compression'
                    """)
                return status.count == 2 && status.allSatisfy { $0["status"] == "Success" }
            }, "the compression jobs did not both record a successful run")
            // A tick for a compressed bucket is refused with its reason, and nothing changes.
            let late = #"{"v":1,"source":"\#(fixture.source)","symbol":"TS/USD","kind":"trade","ts":\#(start + 60_000_000_000),"price":"1.5","size":"2"}"#
            _ = try await fixture.produce([Array(late.utf8)])
            let rejects = try await recorder.waitFor(fixture.topics.rejects, timeout: .seconds(60), "the late tick's reject") { !$0.isEmpty }
            let reject = try JSONParser().parse(rejects[0].value)
            #expect(reject["reason"]?.stringValue == "beyond_compression_horizon")
        }
        let after = try await Recomputation.stored(source: fixture.source, on: database.connection)
        #expect(after == before, "compressed candles read differently")
        await recorder.stop()
        await database.drop()
    }

    @Test("a retention policy (off by default) drops old chunks when set; offsets stay")
    func retentionPolicy() async throws {
        let database = try await FreshDatabase.make()
        let fixture = try await AggregatorFixture(partitions: 1)
        let timeframes = ["1m"].compactMap(Timeframe.init)
        let now = WallClock.nanoseconds() / 60_000_000_000 * 60_000_000_000
        let store = FencedCandleStore(timeframes: timeframes, bidAskCandles: false, consumerGroup: "history", topic: "history")
        let lease = try await store.claim(partition: 0, owner: "test", on: database.connection)
        let old = Recomputation.ticks(source: fixture.source, symbols: ["OLD/USD"], count: 50, start: now - 40 * Self.day, seed: 1)
        let recent = Recomputation.ticks(source: fixture.source, symbols: ["NEW/USD"], count: 50, start: now - 2 * Self.day, seed: 2)
        _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: 100, ticks: old + recent)], on: database.connection)
        func count(_ symbol: String) async throws -> String? {
            try await database.connection.query("SELECT count(*) AS n FROM candles WHERE source = $1 AND symbol = $2", [fixture.source, symbol]).first?["n"]
        }
        #expect(try await count("OLD/USD") != "0")
        var configuration = fixture.configuration
        configuration.timeframes = timeframes
        configuration.compressAfter = .seconds(60 * 86_400)
        configuration.dropAfter = .seconds(14 * 86_400)
        let aggregator = AggregatorService(configuration: configuration, kafka: KafkaTestKit.configuration(KafkaTestKit.groupProperties),
                                           topics: fixture.topics, database: PostgresConfiguration(url: database.url, applicationName: "ts-test"),
                                           instance: "ts", metricsFactory: NOOPMetricsHandler.instance, logger: TestEnvironment.logger("aggregator"))
        try await withServices([aggregator]) {
            #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) {
                try await database.connection.query("""
                    SELECT 1 FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = 'candles'
                      AND config->>'drop_after' = '14 days'
                    """).first != nil
            }, "no retention policy after the first start")
            try await database.connection.query("""
                SELECT alter_job(job_id, next_start => now()) FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'
                """)
            #expect(try await TestEnvironment.eventually(timeout: .seconds(60)) { try await count("OLD/USD") == "0" },
                    "the retention job did not drop the old chunks")
        }
        #expect(try await count("NEW/USD") != "0")
        #expect(try await store.storedOffsets(on: database.connection)[0] == 100, "offsets are not in the dropped chunks")
        await database.drop()
    }

    @Test("installed but not preloaded: migrations fall back to plain tables and say which setting to change")
    func notPreloaded() async throws {
        let server = try PrivatePostgres(timescale: false)
        let connection = try await PostgresTestKit.connect(url: server.url)
        let report = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        #expect(report.applied.count == (try Migration.bundled()).count)
        #expect(report.capabilities.timescaleAvailable)
        #expect(!report.capabilities.timescalePreloaded)
        #expect(!report.capabilities.timescaleEnabled)
        #expect(report.capabilities.timescaleSummary.contains("shared_preload_libraries = 'timescaledb'"))
        let hypertables = try await connection.query("SELECT count(*) AS n FROM pg_class WHERE relname = 'candles' AND relkind = 'r'")
        #expect(hypertables.first?["n"] == "1", "candles is a plain table")
        await connection.close()
    }

    @Test("the Apache-only edition is detected: hypertables on, compression and policies off, said precisely")
    func apacheEdition() async throws {
        let server = try PrivatePostgres(settings: ["timescaledb.license=apache"])
        let connection = try await PostgresTestKit.connect(url: server.url)
        let report = try await Migrator(connection: connection, migrations: Migration.bundled(), logger: TestEnvironment.logger("migrate")).migrate()
        let capabilities = report.capabilities
        #expect(capabilities.timescaleEnabled)
        #expect(capabilities.timescaleLicense == "apache")
        #expect(!capabilities.timescalePolicies)
        #expect(capabilities.timescaleSummary.contains("Apache-only edition"))
        let dimension = try await connection.query("SELECT count(*) AS n FROM timescaledb_information.dimensions WHERE hypertable_name = 'candles'")
        #expect(dimension.first?["n"] == "1")
        await connection.close()
    }
}
