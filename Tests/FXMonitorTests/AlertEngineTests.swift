import FXContracts
import Foundation
import FXMonitor
import Testing

/// Alert rules over stream states, instances, latency and gap counts, with the clock injected.
@Suite("Monitor: alert rules, escalation and resolution")
struct AlertEngineTests {
    static let second: Int64 = 1_000_000_000

    func stream(_ state: StreamState, symbol: String = "BTC/USD") -> StreamStatus {
        StreamStatus(source: "coinbase", symbol: symbol, venueSymbol: "BTC-USD", state: state, since: 0, reason: "test",
                     lastEventTs: nil, lastReceivedAt: nil, ticks: 0, gaps: 0)
    }

    @Test("a stale stream fires once after `for`, escalates once after `escalate_after`, resolves once on recovery")
    func lifecycle() {
        var engine = AlertEngine(rules: [AlertRule(name: "stream_stale", condition: .streamState(.stale), holdFor: .seconds(30),
                                                   severity: .warning, escalateAfter: .seconds(300), labels: ["team": "data"])])
        let t0: Int64 = 1_000 * Self.second
        func run(_ state: StreamState, at seconds: Int64) -> [AlertEvent] {
            engine.evaluate(AlertInputs(streams: [stream(state)], instances: []), now: t0 + seconds * Self.second)
        }
        #expect(run(.stale, at: 0).isEmpty)
        #expect(run(.stale, at: 29).isEmpty, "not before `for`")
        let fired = run(.stale, at: 30)
        #expect(fired.map(\.status) == [.firing] && fired.first?.severity == .warning && fired.first?.escalated == false)
        #expect(fired.first?.id == "stream_stale:coinbase:BTC/USD" && fired.first?.labels == ["team": "data"])
        #expect(fired.first?.startedAt == t0)
        #expect(run(.stale, at: 100).isEmpty, "firing once")
        #expect(run(.stale, at: 329).isEmpty)
        let escalated = run(.stale, at: 330)
        #expect(escalated.map(\.severity) == [.critical] && escalated.first?.escalated == true)
        #expect(run(.stale, at: 400).isEmpty, "escalated once")
        #expect(engine.firing.map(\.severity) == [.critical])
        let resolved = run(.live, at: 401)
        #expect(resolved.map(\.status) == [.resolved] && resolved.first?.id == "stream_stale:coinbase:BTC/USD")
        #expect(run(.live, at: 402).isEmpty && engine.firing.isEmpty)
        // A blip shorter than `for` never fires, so nothing resolves either.
        #expect(run(.stale, at: 500).isEmpty && run(.live, at: 510).isEmpty)
    }

    @Test("missing instances, high latency and frequent gaps fire per subject")
    func otherConditions() {
        var engine = AlertEngine(rules: AlertRule.defaults)
        let missing = InstanceStatus(service: "ingestor", instance: "ing-1", lastSeen: 0, heartbeatTs: 0, alive: false)
        let events = engine.evaluate(AlertInputs(streams: [stream(.live)], instances: [missing], latencyP99: ["coinbase": 2_500, "finnhub": 40],
                                                 gapsLastHour: ["coinbase|ETH/USD": 11]), now: 0)
        #expect(Set(events.map(\.id)) == ["instance_missing:ingestor:ing-1", "gaps_frequent:coinbase:ETH/USD"])
        #expect(events.first { $0.rule == "instance_missing" }?.severity == .critical)
        let later = engine.evaluate(AlertInputs(streams: [], instances: [missing], latencyP99: ["coinbase": 2_500]), now: 61 * Self.second)
        #expect(Set(later.map(\.id)) == ["latency_p99_high:coinbase", "gaps_frequent:coinbase:ETH/USD"])
        #expect(later.first { $0.rule == "gaps_frequent" }?.status == .resolved)
    }

    @Test("the shipped rules file is the built-in rule set; a bad file is refused naming the rule and field")
    func rulesFile() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = root.appendingPathComponent("deploy/monitor-alerts.yaml").path
        #expect(try AlertRule.parse(yaml: String(contentsOfFile: path, encoding: .utf8), path: path) == AlertRule.defaults)
        for (yaml, message) in [("rules:\n  - name: a\n    when: stream_state\n    state: sleepy\n", "state must be one of"),
                                ("rules:\n  - name: a\n    when: instance_missing\n    colour: red\n", "unknown field 'colour'"),
                                ("rules:\n  - name: a\n    when: instance_missing\n    colour: red\n", "rules.yaml:4"),
                                ("rules: [unclosed\n", "not valid YAML"),
                                ("rules:\n  - name: a\n    when: latency_p99_ms\n", "threshold"),
                                ("rules:\n  - name: a\n    when: instance_missing\n  - name: a\n    when: instance_missing\n", "appears twice"),
                                ("rules:\n  - name: a\n    when: instance_missing\n    for: soon\n", "rule a: for")] {
            do {
                _ = try AlertRule.parse(yaml: yaml, path: "rules.yaml")
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test("rules files may share fields through YAML anchors and merge keys, quote thresholds, and write booleans as labels")
    func rulesFileForms() throws {
        let yaml = """
        defaults: &paging
          severity: critical
          labels: {page: yes, team: fx}
        rules:
          - <<: *paging
            name: slow
            when: latency_p99_ms
            threshold: "1500"
          - <<: *paging
            name: gappy
            when: gaps_per_hour
            threshold: 3
            severity: warning
        """
        let rules = try AlertRule.parse(yaml: yaml, path: "rules.yaml")
        #expect(rules == [
            AlertRule(name: "slow", condition: .latencyP99(milliseconds: 1_500), severity: .critical, labels: ["page": "true", "team": "fx"]),
            AlertRule(name: "gappy", condition: .gapsPerHour(3), severity: .warning, labels: ["page": "true", "team": "fx"]),
        ])
    }
}
