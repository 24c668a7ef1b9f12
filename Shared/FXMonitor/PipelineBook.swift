import FXContracts
import FXCore

/// What flows through the pipeline, beyond single streams, as a value type with the clock injected:
/// - event rates per kind and source over the last minute (``RateMeter``): `ticks`, `gaps` and `candles`
///   per source, `rejects` per source of the reject, and from heartbeats `reconnects` per source (the
///   increase of the ingestors' connection counters) and `errors` per service (ingestor
///   `provider_errors` + `delivery_failures` + `dropped`; aggregator `flush_failures`; backfiller
///   `gaps_failed` + `history_rejects`);
/// - consumer lag per partition, from the aggregators' and backfillers' heartbeats;
/// - the backfill queue, from the newest backfiller heartbeat's ledger.
///
/// Bounded: at most `maxSources` sources per kind (a rate silent for `forgetAfter` is forgotten), at most
/// `maxInstances` instances (their counters and partitions; a stopped or forgotten instance is removed),
/// ``maxPartitions`` partitions and ``maxCounters`` counters read per heartbeat. Negative counters,
/// partitions outside `0...Int32.max` and implausible ledger times are ignored and reported.
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

    public static let maxPartitions = 1_024
    public static let maxCounters = 256

    public let maxSources: Int
    public let maxInstances: Int
    /// A rate without events for this long is forgotten (ns).
    public let forgetAfter: Int64
    private(set) var rates: [Kind: [String: RateMeter]] = [:]
    /// One connection's reconnect counter, from an ingestor heartbeat's `connections`.
    struct Connection: Hashable, Sendable {
        var source: String
        var id: String
    }

    /// An instance's totals in its latest heartbeat: `counters`, and each connection's `reconnects`.
    struct Totals: Sendable {
        var counters: [String: Int64] = [:]
        var reconnects: [Connection: Int64] = [:]
    }

    private var lastCounters: [String: Totals] = [:]
    private(set) var lags: [String: [PartitionLag]] = [:]
    public private(set) var backfill: BackfillQueue?

    public init(maxSources: Int = 64, maxInstances: Int = 256, forgetAfter: Duration = .seconds(3_600)) {
        self.maxSources = maxSources
        self.maxInstances = maxInstances
        self.forgetAfter = forgetAfter.nanosecondsClamped
    }

    /// Instances whose counters or partitions are kept.
    public var instanceCount: Int { Set(lastCounters.keys).union(lags.keys).count }
    /// Rate meters kept, over all kinds.
    public var meterCount: Int { rates.values.reduce(0) { $0 + $1.count } }

    /// Counts `count` events of `kind` for `source` at `now`; nil when counted, else why not.
    @discardableResult
    public mutating func count(_ kind: Kind, source: String, _ count: Int64 = 1, now: Int64) -> IgnoreReason? {
        let maxSources = maxSources
        return Self.add(count, source: source, now: now, to: &rates[kind, default: [:]], maxSources: maxSources)
    }

    /// Adds to `source`'s meter in place (one lookup for a known source; a new one is checked and capped).
    private static func add(_ count: Int64, source: String, now: Int64, to meters: inout [String: RateMeter], maxSources: Int) -> IgnoreReason? {
        if let index = meters.index(forKey: source) {
            meters.values[index].add(count, now: now)
            return nil
        }
        guard ContractLimits.isValidSource(source) else { return .invalidName }
        guard meters.count < maxSources else { return .sourceCap }
        var meter = RateMeter()
        meter.add(count, now: now)
        meters[source] = meter
        return nil
    }

    /// Events of `kind` for `source` in the minute up to `now`, and since the monitor started.
    public func rate(_ kind: Kind, source: String, now: Int64) -> (lastMinute: Int64, total: Int64) {
        let meter = rates[kind]?[source]
        return (meter?.lastMinute(now: now) ?? 0, meter?.total ?? 0)
    }

    /// The sources counted for `kind`.
    public func sources(_ kind: Kind) -> [String] {
        (rates[kind]?.keys).map { $0.sorted() } ?? []
    }

    /// The lag of every partition reported by a consumer instance, by service, instance, topic, partition.
    public var partitionLags: [PartitionLag] {
        lags.keys.sorted().flatMap { lags[$0]! }
    }

    /// Forgets an instance that went missing or stopped: its partitions (they move to others) and counters.
    public mutating func forget(instance key: String) {
        lags[key] = nil
        lastCounters[key] = nil
    }

    /// Forgets the rates without an event for `forgetAfter`.
    public mutating func prune(now: Int64) {
        for kind in Array(rates.keys) {
            rates[kind] = rates[kind]?.filter { now.subtractingClamped($0.value.lastEventAt ?? now) <= forgetAfter }
        }
    }

    /// A heartbeat of `<prefix>health` (read by ``Heartbeat/read(_:receivedAt:)``): counter increases
    /// become rates; partitions and ledger are kept. Returns the reasons parts of it were ignored here
    /// (empty: all of it was applied).
    @discardableResult
    public mutating func heartbeat(_ beat: Heartbeat, now: Int64) -> [IgnoreReason] {
        let key = beat.key
        if beat.stopping {
            forget(instance: key)
            return []
        }
        guard lastCounters[key] != nil || lags[key] != nil || instanceCount < maxInstances else { return [.instanceCap] }
        var ignored: [IgnoreReason] = []
        var current = Totals()
        for counter in beat.counters.prefix(Self.maxCounters) { current.counters[counter.name] = counter.value }
        for connection in (beat.ingestor?.connections ?? []).prefix(StreamBoard.Settings.maxConnections) {
            guard let reconnects = connection.reconnects else { continue }
            current.reconnects[Connection(source: connection.source, id: connection.id)] = reconnects
        }
        let previous = lastCounters[key]
        lastCounters[key] = current
        // First heartbeat heard: the totals before it are not this minute's; a restart starts from zero.
        func increase(_ value: Int64?, before: Int64?) -> Int64 {
            guard let value else { return 0 }
            guard let before else { return previous == nil ? 0 : value }
            return value >= before ? value - before : value   // both >= 0: no overflow
        }
        let errors = HeartbeatCounters.errors(of: beat.service).reduce(Int64(0)) {
            $0.addingClamped(increase(current.counters[$1], before: previous?.counters[$1]))
        }
        if let reason = count(.errors, source: beat.service, errors, now: now) { ignored.append(reason) }
        for (connection, value) in current.reconnects {
            if let reason = count(.reconnects, source: connection.source, increase(value, before: previous?.reconnects[connection]), now: now) {
                ignored.append(reason)
            }
        }
        if let partitions = beat.partitions {
            lags[key] = partitions.prefix(Self.maxPartitions).map { partition in
                PartitionLag(service: beat.service, instance: beat.instance, topic: partition.topic, partition: Int64(partition.partition),
                             lag: partition.lag, reportedAt: now)
            }
        }
        if beat.service == "backfiller", let ledger = beat.backfiller?.ledger {
            backfill = BackfillQueue(queued: ledger.queued, byStatus: Dictionary(uniqueKeysWithValues: ledger.byStatus.map { ($0.key.rawValue, $0.value) }),
                                     oldestUnfilledFrom: ledger.oldestUnfilledFrom, minutesToRepair: ledger.minutesToRepair, reportedAt: now)
        }
        return ignored
    }
}
