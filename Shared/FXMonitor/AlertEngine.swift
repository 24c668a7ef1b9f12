import FXContracts
import FXCore

/// What the rules look at, at one instant.
public struct AlertInputs: Sendable {
    public var streams: [StreamStatus]
    public var instances: [InstanceStatus]
    /// Exchange -> receive p99 per source, in milliseconds.
    public var latencyP99: [String: Int64]
    /// Gaps per stream (`source|symbol`) in the last hour.
    public var gapsLastHour: [String: Int64]
    /// The ingestor fleets.
    public var fleets: [FleetStatus]
    /// Order book resyncs per stream (`source|symbol`) in the last hour.
    public var bookResyncsLastHour: [String: Int64] = [:]

    public init(streams: [StreamStatus], instances: [InstanceStatus], latencyP99: [String: Int64] = [:], gapsLastHour: [String: Int64] = [:],
                fleets: [FleetStatus] = []) {
        self.fleets = fleets
        self.streams = streams
        self.instances = instances
        self.latencyP99 = latencyP99
        self.gapsLastHour = gapsLastHour
    }
}

/// The alert rules' state machine, a value type: ``evaluate(_:now:)`` compares each rule's condition per
/// subject with what it saw before and returns the events — an alert fires once when its condition has
/// held for the rule's `for`, escalates once (warning -> critical) after `escalate_after` more, and
/// resolves once when the condition stops holding. Nothing repeats while nothing changes. The alerts it
/// tracks are bounded by its inputs (streams, instances and sources, each capped by the monitor): a
/// subject that leaves the inputs (a forgotten instance or stream) resolves.
public struct AlertEngine: Sendable {
    struct Tracked: Sendable {
        var rule: String
        var since: Int64
        var firing = false
        var severity: AlertRule.Severity
        var subject: [String: String]
        var summary: String
    }

    public let rules: [AlertRule]
    private var tracked: [String: Tracked] = [:]

    public init(rules: [AlertRule]) {
        self.rules = rules
    }

    /// Alerts firing now.
    public var firing: [AlertEvent] {
        tracked.filter(\.value.firing).sorted { $0.key < $1.key }.compactMap { id, state in
            guard let rule = rules.first(where: { $0.name == state.rule }) else { return nil }
            return AlertEvent(id: id, rule: rule.name, status: .firing, severity: state.severity, escalated: state.severity > rule.severity,
                              subject: state.subject, summary: state.summary, labels: rule.labels, startedAt: state.since, at: state.since)
        }
    }

    public mutating func evaluate(_ inputs: AlertInputs, now: Int64) -> [AlertEvent] {
        var events: [AlertEvent] = []
        var holding: Set<String> = []
        for rule in rules {
            for (subjectKey, subject, summary) in matches(rule, inputs) {
                let id = "\(rule.name):\(subjectKey)"
                holding.insert(id)
                var state = tracked[id] ?? Tracked(rule: rule.name, since: now, severity: rule.severity, subject: subject, summary: summary)
                state.summary = summary
                if !state.firing, now.subtractingClamped(state.since) >= rule.holdFor.nanosecondsClamped {
                    state.firing = true
                    events.append(event(id, rule, state, .firing, escalated: false, now: now))
                } else if state.firing, state.severity == .warning, let after = rule.escalateAfter,
                          now.subtractingClamped(state.since) >= rule.holdFor.nanosecondsClamped.addingClamped(after.nanosecondsClamped) {
                    state.severity = .critical
                    events.append(event(id, rule, state, .firing, escalated: true, now: now))
                }
                tracked[id] = state
            }
        }
        for (id, state) in tracked where !holding.contains(id) {
            tracked.removeValue(forKey: id)
            guard state.firing, let rule = rules.first(where: { $0.name == state.rule }) else { continue }
            events.append(event(id, rule, state, .resolved, escalated: false, now: now))
        }
        return events
    }

    private func event(_ id: String, _ rule: AlertRule, _ state: Tracked, _ status: AlertEvent.Status, escalated: Bool, now: Int64) -> AlertEvent {
        AlertEvent(id: id, rule: rule.name, status: status, severity: state.severity, escalated: escalated, subject: state.subject,
                   summary: status == .resolved ? "resolved: \(state.summary)" : state.summary, labels: rule.labels,
                   startedAt: state.since, at: now)
    }

    /// Subjects for which the rule's condition holds: (key, subject fields, summary).
    private func matches(_ rule: AlertRule, _ inputs: AlertInputs) -> [(String, [String: String], String)] {
        switch rule.condition {
        case .streamState(let state):
            return inputs.streams.filter { $0.state == state }.map {
                ("\($0.source):\($0.symbol)", ["source": $0.source, "symbol": $0.symbol], "\($0.source) \($0.symbol) is \(state.rawValue): \($0.reason)")
            }
        case .instanceMissing:
            return inputs.instances.filter { !$0.alive }.map {
                ($0.key, ["service": $0.service, "instance": $0.instance], "\($0.key) sends no heartbeat")
            }
        case .latencyP99(let limit):
            return inputs.latencyP99.filter { $0.value > limit }.sorted { $0.key < $1.key }.map {
                ($0.key, ["source": $0.key], "\($0.key) exchange -> receive p99 is \($0.value) ms (above \(limit) ms)")
            }
        case .fleetUnowned:
            return inputs.fleets.filter { $0.unowned > 0 }.map {
                ($0.group, ["fleet": $0.group], "ingestor fleet \($0.group): \($0.unowned) of \($0.shardCount) shards have no live owner")
            }
        case .bookResyncsPerHour(let limit):
            return inputs.bookResyncsLastHour.filter { $0.value > limit }.sorted { $0.key < $1.key }.map { key, count in
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                return (parts.joined(separator: ":"), ["source": parts.first ?? "", "symbol": parts.last ?? ""],
                        "\(parts.joined(separator: " ")) order book resynced \(count) times in the last hour (above \(limit))")
            }
        case .gapsPerHour(let limit):
            return inputs.gapsLastHour.filter { $0.value > limit }.sorted { $0.key < $1.key }.map { key, count in
                let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
                return (parts.joined(separator: ":"), ["source": parts.first ?? "", "symbol": parts.last ?? ""],
                        "\(parts.joined(separator: " ")) reported \(count) gaps in the last hour (above \(limit))")
            }
        }
    }
}
