import FXContracts
import FXCore
@testable import FXMonitor
import Testing

/// The monitor's state is bounded: keys from the topics are capped and expire; a stopped instance goes at
/// once, a vanished one once forgotten, and its alert with it.
@Suite("Monitor: bounded state, stopped and forgotten instances")
struct MonitorStateBoundsTests {
    typealias S = MonitorTestSupport

    @Test("a flood of 20,000 distinct sources and 20,000 instances leaves at most the caps in memory, counted as ignored; one evaluation stays fast")
    func flood() {
        let service = S.service { configuration in
            configuration.maxStreams = 1_000
            configuration.maxInstances = 100
            configuration.maxSources = 32
        }
        let now = S.wednesday
        for index in 0..<20_000 {
            service.apply(topic: S.topics.ticks, value: S.tick(source: "src-\(index)", ts: now, recv: now + 1_000_000), now: now)
            service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "pod-\(index)", ts: now, lastMessage: now), now: now)
            service.apply(topic: S.topics.rejects, value: S.bytes(#"{"v":1,"source":"src-\#(index)","stage":"ingest","reason":"malformed_json"}"#), now: now)
        }
        let start = ContinuousClock.now
        service.evaluate(now: now + S.second)
        let evaluation = ContinuousClock.now - start
        let sizes = service.stateSizes
        #expect(sizes.streams == 1_000 && sizes.instances == 100)
        #expect(sizes.meters <= 32 * PipelineBook.Kind.allCases.count && sizes.latencySeries <= 32 * LatencyBook.Measure.allCases.count)
        #expect(sizes.metricSeries <= 1_000 + 100 + 32 + 8, "per-subject series follow the state: \(sizes.metricSeries)")
        #expect(service.ignoredCount(.streamCap) == 19_000 && service.ignoredCount(.instanceCap) == 19_900)
        #expect(evaluation < .seconds(2), "one evaluation of the capped state: \(evaluation)")
    }

    @Test("an instance whose last heartbeat says stopping is removed at once: no instance_missing alert, its partitions gone")
    func stoppedInstance() {
        let service = S.service()
        let now = S.wednesday
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "ing-old", ts: now, lastMessage: now), now: now)
        service.apply(topic: S.topics.health, value: S.bytes(#"{"v":1,"service":"aggregator","instance":"agg-old","ts":\#(now),"partitions":[{"topic":"spec.ticks","partition":0,"lag":3}],"counters":{}}"#), now: now)
        service.evaluate(now: now)
        #expect(service.stateSizes.instances == 2)
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "ing-old", ts: now, lastMessage: now, stopping: true), now: now + S.second)
        service.apply(topic: S.topics.health, value: S.bytes(#"{"v":1,"service":"aggregator","instance":"agg-old","ts":\#(now),"partitions":[],"counters":{},"stopping":true}"#), now: now + S.second)
        for second in stride(from: Int64(2), through: 120, by: 1) { service.evaluate(now: now + second * S.second) }
        #expect(service.stateSizes.instances == 0)
        #expect(!service.firingAlerts.contains { $0.rule == "instance_missing" }, "\(service.firingAlerts.map(\.id))")
        #expect(service.state.withLock { $0.pipeline.partitionLags.isEmpty && $0.pipeline.instanceCount == 0 })
    }

    @Test("a vanished instance fires instance_missing, and the alert resolves once the instance is forgotten (instance_forget_after)")
    func forgottenInstance() {
        let service = S.service { $0.instanceForgetAfter = .seconds(600) }
        let now = S.wednesday
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "ing-gone", ts: now, lastMessage: now), now: now)
        service.evaluate(now: now)
        service.evaluate(now: now + 20 * S.second)
        #expect(service.firingAlerts.map(\.id) .contains("instance_missing:ingestor:ing-gone"))
        service.evaluate(now: now + (15 + 600 - 1) * S.second)
        #expect(service.stateSizes.instances == 1, "still known just before the forget time")
        service.evaluate(now: now + (15 + 600 + 1) * S.second)
        #expect(service.stateSizes.instances == 0)
        #expect(!service.firingAlerts.contains { $0.rule == "instance_missing" })
        #expect(service.state.withLock { $0.recentAlerts.last?.status == .resolved && $0.recentAlerts.last?.id == "instance_missing:ingestor:ing-gone" })
    }

    @Test("a stream without data for stream_forget_after is forgotten; gap arrivals per stream are capped")
    func forgottenStream() {
        var settings = StreamBoard.Settings()
        settings.streamForgetAfter = .seconds(3_600)
        var board = StreamBoard(settings: settings)
        let now = S.wednesday
        board.tick(source: "coinbase", symbol: "OLD/USD", venueSymbol: "OLD-USD", eventTs: now, now: now)
        for index in 0..<5_000 {
            board.gap(GapEvent(source: "coinbase", symbol: "GAP/USD", venueSymbol: "GAP-USD", from: now, to: now, reason: .disconnect,
                               detectedAt: now, detail: "spec", instance: "ing-1"), now: now + Int64(index) * 1_000)
        }
        #expect(board.gapsLastHour(now: now + S.second)["coinbase|GAP/USD"] == Int64(StreamBoard.Settings.maxRecentGaps))
        board.tick(source: "coinbase", symbol: "NEW/USD", venueSymbol: "NEW-USD", eventTs: now, now: now + 3_000 * S.second)
        let result = board.evaluate(now: now + 3_601 * S.second)
        #expect(result.forgottenStreams == ["coinbase|GAP/USD", "coinbase|OLD/USD"])
        #expect(board.snapshot.map(\.symbol) == ["NEW/USD"])
    }
}
