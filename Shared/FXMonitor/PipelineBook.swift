import FXCore

/// What flows through the pipeline, beyond single streams, as a value type with the clock injected:
/// - event rates per kind and source over the last minute (``RateMeter``): `ticks`, `gaps` and `candles`
///   per source, `rejects` per source of the reject, and from heartbeats `reconnects` per source (the
///   increase of the ingestors' connection counters) and `errors` per service (ingestor
///   `provider_errors` + `delivery_failures` + `dropped`; aggregator `flush_failures`; backfiller
///   `gaps_failed` + `history_rejects`);
/// - consumer lag per partition, from the aggregators' and backfillers' heartbeats;
/// - the backfill queue, from the newest backfiller heartbeat's ledger.
public struct PipelineBook: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case ticks, gaps, rejects, candles, reconnects, errors
    }

    /// One partition a consumer instance owns, as its latest heartbeat reported it.
    public struct PartitionLag: Sendable, Equatable {
        public var service: String
        public var instance: String
        public var topic: String
        public var partition: Int64
        public var lag: Int64?
        public var reportedAt: Int64
    }

    /// The gap ledger's work, as the newest backfiller heartbeat reported it.
    public struct BackfillQueue: Sendable, Equatable {
        /// Gaps `open`, `filling` or `failed` (still to be repaired).
        public var queued: Int64
        public var byStatus: [String: Int64]
        public var oldestUnfilledFrom: Int64?
        public var minutesToRepair: Int64
        public var reportedAt: Int64
    }

    private(set) var rates: [String: RateMeter] = [:]
    private var lastCounters: [String: [String: Int64]] = [:]
    private(set) var lags: [String: [PartitionLag]] = [:]
    public private(set) var backfill: BackfillQueue?

    public init() {}

    static func key(_ kind: Kind, _ source: String) -> String { "\(kind.rawValue)|\(source)" }

    /// Counts `count` events of `kind` for `source` at `now`.
    public mutating func count(_ kind: Kind, source: String, _ count: Int64 = 1, now: Int64) {
        rates[Self.key(kind, source), default: RateMeter()].add(count, now: now)
    }

    /// Events of `kind` for `source` in the minute up to `now`, and since the monitor started.
    public func rate(_ kind: Kind, source: String, now: Int64) -> (lastMinute: Int64, total: Int64) {
        let meter = rates[Self.key(kind, source)]
        return (meter?.lastMinute(now: now) ?? 0, meter?.total ?? 0)
    }

    /// The sources counted for `kind`.
    public func sources(_ kind: Kind) -> [String] {
        rates.keys.filter { $0.hasPrefix(kind.rawValue + "|") }.map { String($0.dropFirst(kind.rawValue.count + 1)) }.sorted()
    }

    /// The lag of every partition reported by a consumer instance, by service, instance, topic, partition.
    public var partitionLags: [PartitionLag] {
        lags.keys.sorted().flatMap { lags[$0]! }
    }

    /// Forgets the partitions of an instance that went missing (its partitions move to others).
    public mutating func forget(instance key: String) {
        lags[key] = nil
    }

    /// A heartbeat of `<prefix>health`: counter increases become rates; partitions and ledger are kept.
    public mutating func heartbeat(_ message: JSONValue, now: Int64) {
        guard let service = message["service"]?.stringValue, let instance = message["instance"]?.stringValue else { return }
        let key = "\(service):\(instance)"
        var current: [String: Int64] = [:]
        if case .object(let members)? = message["counters"] {
            for (name, value) in members { if let number = value.int64Value { current[name] = number } }
        }
        for connection in message["connections"]?.arrayValue ?? [] {
            guard let source = connection["source"]?.stringValue, let id = connection["id"]?.stringValue else { continue }
            current["reconnects|\(source)|\(id)"] = connection["reconnects"]?.int64Value ?? 0
        }
        let previous = lastCounters[key]
        lastCounters[key] = current
        func increase(_ name: String) -> Int64 {
            guard let value = current[name] else { return 0 }
            // First heartbeat heard: the totals before it are not this minute's; a restart starts from zero.
            guard let before = previous?[name] else { return previous == nil ? 0 : value }
            return value >= before ? value - before : value
        }
        let errorCounters: [String]
        switch service {
        case "ingestor": errorCounters = ["provider_errors", "delivery_failures", "dropped"]
        case "aggregator": errorCounters = ["flush_failures"]
        case "backfiller": errorCounters = ["gaps_failed", "history_rejects"]
        default: errorCounters = []
        }
        count(.errors, source: service, errorCounters.reduce(0) { $0 + increase($1) }, now: now)
        for name in current.keys where name.hasPrefix("reconnects|") {
            count(.reconnects, source: String(name.split(separator: "|")[1]), increase(name), now: now)
        }
        if let partitions = message["partitions"]?.arrayValue {
            lags[key] = partitions.compactMap { partition in
                guard let number = partition["partition"]?.int64Value else { return nil }
                return PartitionLag(service: service, instance: instance, topic: partition["topic"]?.stringValue ?? "",
                                    partition: number, lag: partition["lag"]?.int64Value, reportedAt: now)
            }
        }
        if service == "backfiller", let ledger = message["ledger"], !ledger.isNull {
            var byStatus: [String: Int64] = [:]
            for status in ["open", "filling", "failed", "unfillable", "filled"] { byStatus[status] = ledger[status]?.int64Value ?? 0 }
            backfill = BackfillQueue(queued: (byStatus["open"] ?? 0) + (byStatus["filling"] ?? 0) + (byStatus["failed"] ?? 0),
                                     byStatus: byStatus, oldestUnfilledFrom: ledger["oldest_unfilled_from_ts"]?.int64Value,
                                     minutesToRepair: ledger["minutes_to_repair"]?.int64Value ?? 0, reportedAt: now)
        }
    }
}
