/// Which heartbeats the monitor believes. A heartbeat keeps an instance alive and carries its streams,
/// fleet shards and lag, so a spoofed one could hide a dead ingestor (and silence its alerts). The monitor
/// applies heartbeats only of the pipeline's services (`ingestor`, `aggregator`, `backfiller`) and, when
/// `expected_instances` is set, only of instances matching one of its `service:pattern` items (a pattern
/// ending in `*` matches by prefix: `ingestor:ingestor-coinbase-*`). Every other heartbeat is set aside,
/// counted (`fx_monitor_ignored_total{reason="unknown_service"|"unexpected_instance"}`) and listed with its
/// key on `/api/instances` (`untrusted`), never silently trusted. This is a tripwire, not authentication:
/// who may write `<prefix>health` is the broker's ACLs' decision (docs/security.md).
public struct HeartbeatTrust: Sendable {
    public static let services: Set<String> = ["ingestor", "aggregator", "backfiller"]
    /// Senders listed at most (the oldest is forgotten first).
    public static let maxListed = 64

    /// `service:pattern` items; empty: any instance of a known service.
    public let expectedInstances: [String]
    /// Every sender set aside, by key (`service:instance`), bounded by ``maxListed``.
    public private(set) var untrusted: [String: Sender] = [:]

    public struct Sender: Sendable, Equatable {
        public var reason: IgnoreReason
        public var count: Int64
        public var lastSeen: Int64

        public init(reason: IgnoreReason, count: Int64, lastSeen: Int64) {
            self.reason = reason
            self.count = count
            self.lastSeen = lastSeen
        }
    }

    public init(expectedInstances: [String] = []) {
        self.expectedInstances = expectedInstances
    }

    /// Why a heartbeat from `service`/`instance` is not believed, or nil.
    public func refusal(service: String, instance: String) -> IgnoreReason? {
        guard Self.services.contains(service) else { return .unknownService }
        guard !expectedInstances.isEmpty else { return nil }
        let matches = expectedInstances.contains { item in
            guard let colon = item.firstIndex(of: ":"), item[..<colon] == service else { return false }
            let pattern = item[item.index(after: colon)...]
            return pattern.hasSuffix("*") ? instance.hasPrefix(pattern.dropLast()) : instance == pattern
        }
        return matches ? nil : .unexpectedInstance
    }

    /// Records a refused sender.
    public mutating func refused(key: String, reason: IgnoreReason, now: Int64) {
        if var sender = untrusted[key] {
            sender.count += 1
            sender.lastSeen = now
            sender.reason = reason
            untrusted[key] = sender
            return
        }
        if untrusted.count >= Self.maxListed, let oldest = untrusted.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key {
            untrusted.removeValue(forKey: oldest)
        }
        untrusted[key] = Sender(reason: reason, count: 1, lastSeen: now)
    }
}
