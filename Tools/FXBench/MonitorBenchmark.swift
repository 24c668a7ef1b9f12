import FXContracts
import ArgumentParser
import CoreMetrics
import FXCore
import FXKafka
import FXMonitor
import Foundation
import Logging

/// The monitor's intake and memory: `fxtick` messages over `--streams` streams (plus a heartbeat and a
/// gap event every 1,000 messages) through `MonitorService.apply`, against parsing the same messages
/// with `JSONParser` alone (the floor: the monitor parses each message once); then one evaluation of
/// every stream (states, alert rules, per-stream gauges) and the process's RSS with all streams known;
/// then each kind of event on its own (ticks, heartbeats of all three services with latency samples and
/// partitions, gap events, candles, rejects), each against parsing the same messages alone.
///
/// `--flood`: instead, the monitor's bounds under a flood of distinct keys: for each of `--flood-keys`
/// (default 200, 20,000, 200,000) a fresh monitor takes that many distinct sources (a tick each),
/// instances (a heartbeat each) and reject sources; reported: the keys it kept, the process RSS after each
/// step, and one evaluation's median time over `--rounds` as a ratio to the first (the baseline), same run.
struct MonitorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitor")
    @OptionGroup var options: BenchOptions
    @Option(help: "Streams (source + symbol).") var streams: Int = 10_000
    @Option(help: "Messages per round.") var messages: Int = 300_000
    @Flag(help: "Measure the state bounds under a flood of distinct keys instead.") var flood = false
    @Option(help: "Key counts for --flood (the first is the baseline).") var floodKeys: [Int] = [200, 20_000, 200_000]

    func run() async throws {
        if flood { return try await runFlood() }
        var logger = Logger(label: "fxbench")
        logger.logLevel = .critical
        let rssBefore = Self.rssMiB()
        let topics = TopicNames(prefix: "bench.")
        let service = MonitorService(configuration: MonitorConfiguration(), rules: AlertRule.defaults,
                                     kafka: KafkaConfiguration(bootstrapServers: options.brokers), topics: topics, instance: "bench",
                                     metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        let now = WallClock.nanoseconds()
        // A ring of 2 x streams distinct messages, cycled: the payloads the benchmark holds stay small, so
        // the RSS below is the monitor's.
        let ring: [(String, [UInt8])] = (0..<(2 * streams)).map { index in
            if index % 1_000 == 999 {
                return (topics.health, Array(#"{"v":1,"service":"ingestor","instance":"ing-\#(index % 3)","ts":\#(now),"connections":[{"id":"c-0","source":"coinbase","state":"streaming","symbols":100,"last_message_ts":\#(now),"stale_symbols":0}],"counters":{}}"#.utf8))
            }
            if index % 1_000 == 500 {
                return (topics.gaps, GapEvent(source: "coinbase", symbol: "S\(index % streams)/USD", venueSymbol: "S\(index % streams)-USD",
                                              from: now - 5_000_000_000, to: now, reason: .disconnect, detectedAt: now, detail: "bench",
                                              instance: "ing-0").jsonBytes())
            }
            let stream = index % streams
            return (topics.ticks, Array(#"{"v":1,"kind":"trade","source":"coinbase","symbol":"S\#(stream)/USD","venue_symbol":"S\#(stream)-USD","ts":\#(now + Int64(index)),"recv_ts":\#(now + Int64(index) + 1_500_000),"seq":\#(index),"price":"100.25","size":"0.5","side":"buy","trade_id":"\#(index)"}"#.utf8))
        }
        let payloads = (0..<messages).lazy.map { ring[$0 % ring.count] }
        var ratios = RatioReport(name: "monitor intake (\(messages) messages over \(streams) streams) vs parsing alone", unit: "msg/s")
        var evaluations: [Double] = []
        for _ in 0..<options.rounds {
            let parseStart = ContinuousClock.now
            var parsed = 0
            for (_, bytes) in payloads where (try? JSONParser().parse(bytes)) != nil { parsed += 1 }
            let parse = seconds(ContinuousClock.now - parseStart)
            let applyStart = ContinuousClock.now
            for (topic, bytes) in payloads { service.apply(topic: topic, value: bytes, now: WallClock.nanoseconds()) }
            let apply = seconds(ContinuousClock.now - applyStart)
            ratios.add(baseline: Double(parsed) / parse, bridge: Double(messages) / apply)
            let evaluateStart = ContinuousClock.now
            service.evaluate(now: WallClock.nanoseconds())
            evaluations.append(seconds(ContinuousClock.now - evaluateStart))
        }
        ratios.printSummary(goal: nil)
        for (kind, topic, ring) in Self.kinds(topics: topics, streams: streams, now: now) {
            let count = min(messages, 100_000)
            var report = RatioReport(name: "monitor intake of \(kind) vs parsing alone", unit: "msg/s")
            for _ in 0..<options.rounds {
                let parseStart = ContinuousClock.now
                var parsed = 0
                for index in 0..<count where (try? JSONParser().parse(ring[index % ring.count])) != nil { parsed += 1 }
                let parse = seconds(ContinuousClock.now - parseStart)
                let applyStart = ContinuousClock.now
                for index in 0..<count { service.apply(topic: topic, value: ring[index % ring.count], now: WallClock.nanoseconds()) }
                report.add(baseline: Double(parsed) / parse, bridge: Double(count) / seconds(ContinuousClock.now - applyStart))
            }
            report.printSummary(goal: nil)
            if kind == "ticks" { perTick(service: service, topic: topic, ring: ring, count: count) }
        }
        let evaluation = evaluations.sorted()[evaluations.count / 2]
        let rssAfter = Self.rssMiB()
        print(String(format: "monitor: one evaluation of %d streams (states, alert rules, gauges): median %.1f ms", streams, evaluation * 1000))
        print(String(format: "monitor: RSS %.0f MiB with %d streams known (%.0f MiB before; the benchmark's message ring included) — goal <= 100 MB: %@",
                     rssAfter, streams, rssBefore, rssAfter <= 100 ? "met" : "NOT met"))
    }

    /// One ring of distinct messages per kind of event, shaped like the services' own.
    static func kinds(topics: TopicNames, streams: Int, now: Int64) -> [(String, String, [[UInt8]])] {
        let buckets = (0..<40).map { "[\(1_000 + $0 * 250),\(1 + $0 % 7)]" }.joined(separator: ",")
        let latency = #"{"count":200,"p50_us":5000,"p90_us":9000,"p99_us":10500,"p999_us":10750,"max_us":10750,"buckets":[\#(buckets)]}"#
        let health: [[UInt8]] = (0..<300).map { index in
            switch index % 3 {
            case 0:
                return Array(#"{"v":1,"service":"ingestor","instance":"ing-\#(index)","ts":\#(now),"started_ts":\#(now),"connections":[{"id":"coinbase-0","source":"coinbase","state":"streaming","symbols":100,"messages":\#(index * 10),"last_message_ts":\#(now),"reconnects":\#(index),"stale_symbols":0,"open_gaps":0,"last_error":null}],"counters":{"frames":\#(index * 10),"ticks":\#(index * 9),"provider_errors":0,"delivery_failures":0,"dropped":0},"queue_depth":0,"circuits":{"coinbase":"closed"},"latency":{"receive_to_ack":\#(latency)}}"#.utf8)
            case 1:
                return Array(#"{"v":1,"service":"aggregator","instance":"agg-\#(index)","ts":\#(now),"partitions":[{"topic":"bench.ticks","partition":0,"generation":3,"consumed_offset":\#(index * 100),"high_watermark":\#(index * 100 + 5),"lag":5,"pending":10,"watermark_ts":\#(now)}],"counters":{"ticks":\#(index * 100),"flush_failures":0},"last_flush_ms":3.2,"latency":{"tick_to_candle":\#(latency)}}"#.utf8)
            default:
                return Array(#"{"v":1,"service":"backfiller","instance":"bf-\#(index)","ts":\#(now),"started_ts":\#(now),"ledger":{"open":2,"filling":1,"failed":0,"unfillable":1,"filled":40,"oldest_unfilled_from_ts":\#(now - 60_000_000_000),"minutes_to_repair":12},"partitions":[{"topic":"bench.gaps","partition":0,"consumed_offset":48,"high_watermark":48,"lag":0}],"counters":{"gaps_failed":0,"history_rejects":0}}"#.utf8)
            }
        }
        let gaps: [[UInt8]] = (0..<streams).map { index in
            GapEvent(source: "coinbase", symbol: "S\(index)/USD", venueSymbol: "S\(index)-USD", from: now - 5_000_000_000, to: now,
                     reason: .disconnect, detectedAt: now, detail: "bench", instance: "ing-0").jsonBytes()
        }
        let candles: [[UInt8]] = (0..<streams).map { index in
            Array(#"{"v":1,"source":"coinbase","symbol":"S\#(index)/USD","timeframe":"1m","price_type":"trade","start":\#(now),"end":\#(now + 60_000_000_000),"open":"100.25","high":"100.5","low":"100","close":"100.3","volume":"3.2041","tick_count":57,"vwap":"100.2","final":false,"revision":1,"origin":"stream"}"#.utf8)
        }
        let rejects: [[UInt8]] = (0..<1_000).map { index in
            Array(#"{"v":1,"source":"coinbase","stage":"ingest","reason":"malformed_json","detail":"JSON syntax at byte 24","recv_ts":\#(now),"raw":"{\"type\":\"match\",\"price\":","raw_encoding":"utf8","raw_bytes":24,"truncated":false,"instance":"ing-\#(index)"}"#.utf8)
        }
        let ticks: [[UInt8]] = (0..<streams).map { index in
            Array(#"{"v":1,"kind":"trade","source":"coinbase","symbol":"S\#(index)/USD","venue_symbol":"S\#(index)-USD","ts":\#(now),"recv_ts":\#(now + 1_500_000),"seq":\#(index),"price":"100.25","size":"0.5","side":"buy","trade_id":"\#(index)"}"#.utf8)
        }
        return [("ticks", topics.ticks, ticks), ("heartbeats", topics.health, health), ("gap events", topics.gaps, gaps),
                ("candles", topics.candles, candles), ("rejects", topics.rejects, rejects)]
    }

    /// The monitor's CPU per tick (process CPU: the loop runs on one thread) against a `JSONScanner` pass
    /// over the same ticks (the floor: every tick is read once), per round; goal <= 1.5 µs.
    func perTick(service: MonitorService, topic: String, ring: [[UInt8]], count: Int) {
        var micros: [(scan: Double, apply: Double)] = []
        for _ in 0..<options.rounds {
            let scan = jsonScanMicros(ring, count: count)
            let cpu = processCPUSeconds()
            for index in 0..<count { service.apply(topic: topic, value: ring[index % ring.count], now: WallClock.nanoseconds()) }
            micros.append((scan, (processCPUSeconds() - cpu) / Double(count) * 1e6))
            print(String(format: "  round %d: JSON scan %.2f µs per tick, monitor %.2f µs per tick, ratio %.2f", micros.count, scan, micros.last!.apply,
                         micros.last!.apply / scan))
        }
        let apply = micros.map(\.apply).sorted()[micros.count / 2], scan = micros.map(\.scan).sorted()[micros.count / 2]
        print(String(format: "monitor CPU per tick: median %.2f µs (JSON scan %.2f µs, ratio %.2f; goal <= 1.5 µs: %@)", apply, scan, apply / scan,
                     apply <= 1.5 ? "met" : "NOT met"))
    }

    func runFlood() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .critical
        let topics = TopicNames(prefix: "bench.")
        let now = WallClock.nanoseconds()
        var baseline: (rss: Double, evaluation: Double)?   // the first key count's
        for keys in floodKeys {
            let rssBefore = Self.rssMiB()
            let service = MonitorService(configuration: MonitorConfiguration(), rules: AlertRule.defaults,
                                         kafka: KafkaConfiguration(bootstrapServers: options.brokers), topics: topics, instance: "bench",
                                         metricsFactory: NOOPMetricsHandler.instance, logger: logger)
            let applyStart = ContinuousClock.now
            for index in 0..<keys {
                service.apply(topic: topics.ticks, value: Array(#"{"v":1,"kind":"trade","source":"src-\#(index)","symbol":"S\#(index % 100)/USD","venue_symbol":"S\#(index % 100)-USD","ts":\#(now),"recv_ts":\#(now + 1_500_000),"seq":\#(index),"price":"100.25","size":"0.5","side":"buy","trade_id":"\#(index)"}"#.utf8), now: now)
                service.apply(topic: topics.health, value: Array(#"{"v":1,"service":"ingestor","instance":"pod-\#(index)","ts":\#(now),"connections":[{"id":"c-0","source":"coinbase","state":"streaming","symbols":1,"last_message_ts":\#(now),"reconnects":0,"stale_symbols":0}],"counters":{"provider_errors":0}}"#.utf8), now: now)
                service.apply(topic: topics.rejects, value: Array(#"{"v":1,"source":"src-\#(index)","stage":"ingest","reason":"malformed_json"}"#.utf8), now: now)
            }
            let apply = seconds(ContinuousClock.now - applyStart)
            var evaluations: [Double] = []
            for round in 0..<max(1, options.rounds) {
                let start = ContinuousClock.now
                service.evaluate(now: now + Int64(round + 1) * 1_000_000_000)
                evaluations.append(seconds(ContinuousClock.now - start))
            }
            let evaluation = evaluations.sorted()[evaluations.count / 2]
            let rssAfter = Self.rssMiB()
            let rss = max(0, rssAfter - rssBefore)
            let sizes = service.stateSizes
            let base = baseline ?? (rss, evaluation)
            baseline = base
            print(String(format: "monitor flood: %d distinct sources + %d instances + %d reject sources -> kept %d streams, %d instances, %d rate meters, %d latency series, %d metric series; intake %.2f s; process RSS %.1f MiB after (+%.1f MiB in this step; runs in order, freed memory is reused); one evaluation median %.2f ms (x%.2f of the baseline's)",
                         keys, keys, keys, sizes.streams, sizes.instances, sizes.meters, sizes.latencySeries, sizes.metricSeries, apply,
                         rssAfter, rss, evaluation * 1000, evaluation / base.evaluation))
        }
    }

    static func rssMiB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
}
