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
/// every stream (states, alert rules, per-stream gauges) and the process's RSS with all streams known.
struct MonitorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "monitor")
    @OptionGroup var options: BenchOptions
    @Option(help: "Streams (source + symbol).") var streams: Int = 10_000
    @Option(help: "Messages per round.") var messages: Int = 300_000

    func run() async throws {
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
        let evaluation = evaluations.sorted()[evaluations.count / 2]
        let rssAfter = Self.rssMiB()
        print(String(format: "monitor: one evaluation of %d streams (states, alert rules, gauges): median %.1f ms", streams, evaluation * 1000))
        print(String(format: "monitor: RSS %.0f MiB with %d streams known (%.0f MiB before; the benchmark's message ring included) — goal <= 100 MB: %@",
                     rssAfter, streams, rssBefore, rssAfter <= 100 ? "met" : "NOT met"))
    }

    static func rssMiB() -> Double {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
    }
}
