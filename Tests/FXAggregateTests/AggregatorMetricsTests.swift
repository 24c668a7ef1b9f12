import Foundation
import FXAggregate
import FXCore
import FXKafka
import FXTestSupport
import Testing

@Suite("Aggregator: one metrics source", .tags(.integration))
struct AggregatorMetricsTests {
    static let start: Int64 = 1_795_300_000_000_000_000

    /// The value of an unlabelled counter in Prometheus text.
    static func metric(_ name: String, in text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int64(line.split(separator: " ")[1].split(separator: ".")[0])
        }
        return nil
    }

    @Test("after N ticks and M rejects, /metrics, the heartbeat and the /health body report the same counts")
    func metricsAgree() async throws {
        let fixture = try await AggregatorFixture(partitions: 1)
        let ticks = Recomputation.messages(source: fixture.source, symbols: ["M1/USD", "M2/USD"], count: 400, start: Self.start, seed: 5)
        let rejects = (0..<7).map { Array(#"{"v":1,"source":"\#(fixture.source)","symbol":"M1/USD","kind":"trade","ts":\#($0),"price":"NaN","size":"1"}"#.utf8) }
        _ = try await fixture.produce(ticks + rejects)
        let recorder = try TopicRecorder(topics: [fixture.topics.health])
        let service = try await ServiceProcess("aggregator", arguments: [
            "--topic-prefix", fixture.topics.prefix, "--consumer-group", fixture.group, "--timeframes", "1m",
            "--flush-interval-ms", "50"],
            environment: ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "HEALTH_INTERVAL_MS": "1000"])
        // Two heartbeats in a row with the same counters, after every message: the service is idle.
        func counters(_ message: KafkaConsumerMessage) -> JSONValue? { (try? JSONParser().parse(message.value))?["counters"] }
        let beats = try await recorder.waitFor(fixture.topics.health, timeout: .seconds(90), "two equal heartbeats after 400 ticks and 7 rejects") { messages in
            let mine = messages
            guard mine.count >= 2, let last = counters(mine[mine.count - 1]), let previous = counters(mine[mine.count - 2]) else { return false }
            return last["ticks"]?.int64Value == 400 && last["rejects"]?.int64Value == 7 && last == previous
        }
        let beat = try JSONParser().parse(try #require(beats.last).value)
        let metrics = try #require(await service.get("/metrics")).body
        let live = try #require(await service.get("/health/live")).body
        for name in ["ticks", "rejects", "rows_written", "flushes", "late_ticks"] {
            let inHeartbeat = try #require(beat["counters"]?[name]?.int64Value, "heartbeat counter \(name)")
            #expect(Self.metric("fx_aggregator_\(name)_total", in: metrics) == inHeartbeat, "\(name): /metrics vs heartbeat\n\(metrics)")
            #expect(live.contains("counter \(name) \(inHeartbeat)\n"), "\(name) in /health/live:\n\(live)")
        }
        #expect(Self.metric("fx_aggregator_ticks_total", in: metrics) == 400)
        #expect(Self.metric("fx_aggregator_rejects_total", in: metrics) == 7)
        #expect(await service.terminate(timeout: .seconds(30)) == 0, "log:\n\(service.log.suffix(3000))")
        await recorder.stop()
    }
}
