import FXCandles
import ArgumentParser
import Foundation
import FXAggregate
import FXPostgres
import Logging

/// The tick archive's cost: ticks/s through `CandleStore.flush` with `storeTicks` against the same flush
/// without it (the baseline), in the same run, on the database given (TimescaleDB or plain PostgreSQL);
/// then, on TimescaleDB, the archive's bytes per tick uncompressed and compressed (table + indexes), in
/// a database of its own.
struct TickArchiveBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tick-archive")
    @OptionGroup var options: BenchOptions
    @Option(help: "Ticks per round.") var ticks: Int = 100_000
    @Option(help: "Ticks per flush.") var batch: Int = 5_000

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let db = try await PostgresConnection.connect(PostgresConfiguration(url: options.databaseURL), logger: logger)
        let report = try await Migrator(connection: db, migrations: Migration.bundled(), logger: logger).migrate()
        let backend = report.capabilities.timescaleEnabled ? "TimescaleDB \(report.capabilities.timescaleVersion ?? "")" : "plain PostgreSQL"
        var ratios = RatioReport(name: "flush with the tick archive vs without (\(ticks) ticks, \(batch)/flush, \(backend))", unit: "ticks/s")
        for _ in 0..<options.rounds {
            let without = try await flush(storeTicks: false, on: db)
            let with = try await flush(storeTicks: true, on: db)
            ratios.add(baseline: Double(ticks) / without, bridge: Double(ticks) / with)
        }
        ratios.printSummary(goal: nil)
        if report.capabilities.timescalePolicies { try await compression(logger: logger, admin: db) }
        await db.close()
    }

    /// Seconds to flush `ticks` fresh ticks; cleans up after itself.
    private func flush(storeTicks: Bool, on db: PostgresConnection) async throws -> Double {
        let source = "bench-\(UUID().uuidString.prefix(8).lowercased())"
        let records = AggregateBenchmark.records(source: source, count: ticks, symbols: 20)
        let store = FencedCandleStore(timeframes: Timeframe.defaults, bidAskCandles: false, consumerGroup: source, topic: "bench",
                                storeTicks: storeTicks)
        let lease = try await store.claim(partition: 0, owner: "bench", on: db)
        let start = ContinuousClock.now
        var offset: Int64 = 0
        for chunk in stride(from: 0, to: records.count, by: batch) {
            let slice = Array(records[chunk..<min(chunk + batch, records.count)])
            offset += Int64(slice.count)
            _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: offset, ticks: slice)], on: db)
        }
        let elapsed = seconds(ContinuousClock.now - start)
        try await db.query("DELETE FROM candles WHERE source = $1", [source])
        try await db.query("DELETE FROM ticks WHERE source = $1", [source])
        try await db.query("DELETE FROM aggregator_offsets WHERE consumer_group = $1", [source])
        return elapsed
    }

    /// Bytes per archived tick before and after compressing its chunks, in a database of its own.
    private func compression(logger: Logger, admin: PostgresConnection) async throws {
        let (name, _, db) = try await options.freshDatabase(admin, logger: logger)
        let source = "bench-size"
        let records = AggregateBenchmark.records(source: source, count: ticks, symbols: 20)
        let store = FencedCandleStore(timeframes: ["1m"].compactMap(Timeframe.init), bidAskCandles: false, consumerGroup: source,
                                topic: "bench", storeTicks: true)
        let lease = try await store.claim(partition: 0, owner: "bench", on: db)
        var offset: Int64 = 0
        for chunk in stride(from: 0, to: records.count, by: batch) {
            let slice = Array(records[chunk..<min(chunk + batch, records.count)])
            offset += Int64(slice.count)
            _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: offset, ticks: slice)], on: db)
        }
        try await db.query("VACUUM ANALYZE ticks")
        func bytes() async throws -> Double {
            Double(try await db.query("SELECT total_bytes FROM hypertable_detailed_size('ticks')").first?["total_bytes"] ?? "0") ?? 0
        }
        let before = try await bytes()
        try await db.query("""
            ALTER TABLE ticks SET (timescaledb.compress, timescaledb.compress_segmentby = 'source, symbol', timescaledb.compress_orderby = 'ts')
            """)
        try await db.query("SELECT compress_chunk(c) FROM show_chunks('ticks') c")
        let after = try await bytes()
        print(String(format: "tick archive size (%d ticks, TimescaleDB): %.1f bytes/tick uncompressed, %.1f compressed (%.1fx smaller)",
                     ticks, before / Double(ticks), after / Double(ticks), before / max(after, 1)))
        await db.close()
        try await admin.query("DROP DATABASE \(name) WITH (FORCE)")
    }
}
