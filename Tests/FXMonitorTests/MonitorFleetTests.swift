import FXContracts
import FXCore
import FXMonitor
import Testing

/// The monitor's view of ingestor fleets, from the heartbeats the ingestors' own encoder writes, on an
/// injected clock: which live instance streams which shard, and an alert when shards have no owner.
@Suite("Monitor: ingestor fleets")
struct MonitorFleetTests {
    static let start = MonitorStateTests.start
    static let second: Int64 = 1_000_000_000

    static func beat(_ instance: String, _ shards: [String], at ts: Int64, stopping: Bool = false) -> [UInt8] {
        var beat = Heartbeat.ingestor(instance: instance, ts: ts, lastMessage: ts)
        beat.ingestor?.fleet = Heartbeat.Fleet(group: "coinbase", redundancy: 1, shardCount: 4, shards: stopping ? [] : shards)
        beat.stopping = stopping
        return beat.jsonBytes()
    }

    @Test("owners per shard from the live instances; a dead replica's shards count as unowned once it is missing, and the alert fires only if they stay unowned 30 s")
    func deadReplica() {
        var state = MonitorStateTests.state()
        var now = Self.start
        _ = state.apply(.health, Self.beat("ing-a", ["coinbase-0", "coinbase-1"], at: now), now: now)
        _ = state.apply(.health, Self.beat("ing-b", ["coinbase-2", "coinbase-3"], at: now), now: now)
        let first = state.evaluate(now: now)
        #expect(first.fleets == [FleetStatus(group: "coinbase", shardCount: 4, redundancy: 1,
                                             owners: ["coinbase-0": ["ing-a"], "coinbase-1": ["ing-a"], "coinbase-2": ["ing-b"], "coinbase-3": ["ing-b"]])])
        #expect(first.fleets.first?.unowned == 0)
        // ing-b dies; ing-a keeps beating but has not taken its shards over: unowned once ing-b is missing (15 s).
        for seconds in stride(from: 5, through: 60, by: 5) {
            now = Self.start + Int64(seconds) * Self.second
            _ = state.apply(.health, Self.beat("ing-a", ["coinbase-0", "coinbase-1"], at: now), now: now)
            let evaluation = state.evaluate(now: now)
            if seconds == 10 { #expect(evaluation.fleets.first?.unowned == 0, "ing-b not missing yet") }
            if seconds == 20 { #expect(evaluation.fleets.first?.unowned == 2) }
            if seconds == 40 { #expect(!state.recentAlerts.contains { $0.rule == "fleet_shards_unowned" }, "held less than 30 s") }
        }
        let alert = state.recentAlerts.first { $0.rule == "fleet_shards_unowned" }
        #expect(alert?.status == .firing && alert?.severity == .critical && alert?.subject == ["fleet": "coinbase"])
        #expect(alert?.summary.contains("2 of 4 shards") == true, "\(alert?.summary ?? "")")
        // ing-a takes them over: resolved.
        now += 5 * Self.second
        _ = state.apply(.health, Self.beat("ing-a", ["coinbase-0", "coinbase-1", "coinbase-2", "coinbase-3"], at: now), now: now)
        #expect(state.evaluate(now: now).alerts.map(\.status) == [.resolved])
    }

    @Test("a replica stopping cleanly is no alert when the others take its shards over within the failover time")
    func cleanStop() {
        var state = MonitorStateTests.state()
        var now = Self.start
        _ = state.apply(.health, Self.beat("ing-a", ["coinbase-0", "coinbase-1"], at: now), now: now)
        _ = state.apply(.health, Self.beat("ing-b", ["coinbase-2", "coinbase-3"], at: now), now: now)
        _ = state.evaluate(now: now)
        now += Self.second
        #expect(state.apply(.health, Self.beat("ing-b", [], at: now, stopping: true), now: now).stoppedInstance == "ingestor:ing-b")
        #expect(state.evaluate(now: now).fleets.first?.unowned == 2, "shown at once on the status API")
        for seconds in stride(from: 2, through: 12, by: 2) {
            now = Self.start + Int64(seconds) * Self.second
            let shards = seconds >= 10 ? ["coinbase-0", "coinbase-1", "coinbase-2", "coinbase-3"] : ["coinbase-0", "coinbase-1"]
            _ = state.apply(.health, Self.beat("ing-a", shards, at: now), now: now)
            _ = state.evaluate(now: now)
        }
        #expect(state.evaluate(now: now).fleets.first?.unowned == 0)
        #expect(state.recentAlerts.isEmpty, "\(state.recentAlerts.map(\.id))")
    }
}
