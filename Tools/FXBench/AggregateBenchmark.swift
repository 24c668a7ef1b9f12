import FXCandles
import ArgumentParser
import Foundation
import FXAggregate
import FXCore
import FXPostgres
import Logging

/// Ticks per second through `CandleStore.flush` (fenced offsets, COPY to staging, dedup, expansion into
/// 6 timeframes x price types, one merge statement) vs the baseline of only COPYing the same ticks into
/// a plain table, in batches of the same size, on the same connection.
struct AggregateBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "aggregate")
    @OptionGroup var options: BenchOptions
    @Option(help: "Ticks per round.") var ticks: Int = 100_000
    @Option(help: "Ticks per flush.") var batch: Int = 5_000
    @Option(help: "Symbols.") var symbols: Int = 20

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let db = try await PostgresConnection.connect(PostgresConfiguration(url: options.databaseURL), logger: logger)
        _ = try await Migrator(connection: db, migrations: Migration.bundled(), logger: logger).migrate()
        try await db.query("VACUUM ticks, candles")  // see the end of a round
        var report = RatioReport(name: "aggregate flush (\(ticks) ticks, \(batch)/flush, 6 timeframes) vs COPY only", unit: "ticks/s")
        var cpu: [(decode: Double, flush: Double, postgres: Double)] = []
        for round in 0..<options.rounds {
            let source = "bench-\(UUID().uuidString.prefix(8).lowercased())"
            let messages = Self.messages(source: source, count: ticks, symbols: symbols)
            let decodeStart = processCPUSeconds()
            let records = messages.map { try! TickRecord(json: $0) }
            let decode = (processCPUSeconds() - decodeStart) / Double(ticks) * 1e6
            let store = FencedCandleStore(timeframes: Timeframe.defaults, bidAskCandles: false, consumerGroup: source, topic: "bench")
            let table = "bench_agg_copy_\(round)"
            try await db.query("DROP TABLE IF EXISTS \(table)")
            try await db.query("CREATE TABLE \(table) (source text, symbol text, kind text, tick_key text, order_key text, ts bigint, price numeric, size numeric, bid numeric, ask numeric, p integer)")
            var start = ContinuousClock.now
            for chunk in stride(from: 0, to: records.count, by: batch) {
                let rows = records[chunk..<min(chunk + batch, records.count)].map { tick -> [String?] in
                    [tick.source, tick.symbol, tick.kind.rawValue, tick.identity, tick.orderKey, String(tick.ts),
                     tick.price?.text, tick.size?.text, nil, nil, "0"]
                }
                _ = try await db.copyIn("COPY \(table) FROM STDIN", rows: rows)
            }
            let baseline = seconds(ContinuousClock.now - start)
            let lease = try await store.claim(partition: 0, owner: "bench", on: db)
            start = ContinuousClock.now
            let flushCPU = processCPUSeconds(), postgresCPU = MachineCPU.seconds(named: "postgres")
            var offset: Int64 = 0
            for chunk in stride(from: 0, to: records.count, by: batch) {
                let slice = Array(records[chunk..<min(chunk + batch, records.count)])
                offset += Int64(slice.count)
                _ = try await store.flush([.init(partition: 0, generation: lease.generation, nextOffset: offset, ticks: slice)], on: db)
            }
            let flushed = seconds(ContinuousClock.now - start)
            cpu.append((decode, (processCPUSeconds() - flushCPU) / Double(ticks) * 1e6, (MachineCPU.seconds(named: "postgres") - postgresCPU) / Double(ticks) * 1e6))
            report.add(baseline: Double(ticks) / baseline, bridge: Double(ticks) / flushed)
            print(String(format: "  CPU µs per tick: decode (TickRecord) %.2f, flush in the aggregator's process %.2f, PostgreSQL %.2f",
                         cpu.last!.decode, cpu.last!.flush, cpu.last!.postgres))
            try await db.query("DROP TABLE \(table)")
            try await db.query("DELETE FROM candles WHERE source = $1", [source])
            try await db.query("DELETE FROM ticks WHERE source = $1", [source])
            try await db.query("DELETE FROM aggregator_offsets WHERE consumer_group = $1", [source])
            // Every round writes the same time range: without this, the next round's inserts check their
            // keys against this round's dead index entries, which a live table never has at its head.
            try await db.query("VACUUM ticks, candles")
        }
        await db.close()
        report.printSummary(goal: nil)
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print(String(format: "aggregate CPU µs per tick, medians: decode %.2f + flush %.2f = %.2f in the aggregator's process; PostgreSQL %.2f",
                     median(cpu.map(\.decode)), median(cpu.map(\.flush)), median(cpu.map(\.decode)) + median(cpu.map(\.flush)), median(cpu.map(\.postgres))))
    }

    static func records(source: String, count: Int, symbols: Int) -> [TickRecord] {
        messages(source: source, count: count, symbols: symbols).map { try! TickRecord(json: $0) }
    }

    static func messages(source: String, count: Int, symbols: Int) -> [[UInt8]] {
        (0..<count).map { index in
            let ts = 1_795_300_000_000_000_000 + Int64(index) * 10_000_000
            return Array(#"{"v":1,"kind":"trade","source":"\#(source)","symbol":"S\#(index % symbols)/USD","venue_symbol":"x","ts":\#(ts),"recv_ts":\#(ts),"seq":\#(index),"price":"\#(100 + index % 97).\#(index % 100)","size":"0.\#(1 + index % 9999)","side":"buy","trade_id":"\#(index)"}"#.utf8)
        }
    }
}
