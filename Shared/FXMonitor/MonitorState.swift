import FXContracts
import FXCore

/// Everything the monitor knows and derives, in one value: the ``StreamBoard``, the ``LatencyBook``, the
/// ``PipelineBook``, the ``AlertEngine`` and the latest alert events. ``MonitorService`` keeps it behind one
/// lock: ``apply(_:_:now:)`` and ``evaluate(now:wall:)`` change it and return what happened; the service
/// does the side effects (logs, counters, gauges, alert dispatch) outside the lock.
public struct MonitorState: Sendable {
    public var board: StreamBoard
    public var latency: LatencyBook
    public var pipeline: PipelineBook
    public var engine: AlertEngine
    /// Which heartbeats are believed, and the senders set aside.
    public var trust: HeartbeatTrust
    /// The latest alert events, newest last (at most ``maxRecentAlerts``), for `/api/alerts`.
    public private(set) var recentAlerts: [AlertEvent] = []
    public static let maxRecentAlerts = 200

    public init(board: StreamBoard, latency: LatencyBook, pipeline: PipelineBook, engine: AlertEngine, trust: HeartbeatTrust = HeartbeatTrust()) {
        self.board = board
        self.latency = latency
        self.pipeline = pipeline
        self.engine = engine
        self.trust = trust
    }

    /// Which watched topic a message came from.
    public enum Topic: Sendable {
        case ticks, gaps, health, rejects, candles
    }

    /// What one message did.
    public struct Applied: Sendable, Equatable {
        /// Why it, or parts of it, were set aside (empty: all of it was applied).
        public var ignored: [IgnoreReason] = []
        /// A gap event that counts (not `bootstrap`): its stream.
        public var gap: (source: String, symbol: String)?
        /// An order book resync (a `book` gap event): not a gap of the stream.
        public var bookResync: (source: String, symbol: String)?
        /// The instance whose last heartbeat said it is stopping.
        public var stoppedInstance: String?

        /// Nothing to do outside the lock.
        public var isEmpty: Bool { ignored.isEmpty && gap == nil && bookResync == nil && stoppedInstance == nil }

        public static func == (lhs: Applied, rhs: Applied) -> Bool {
            lhs.ignored == rhs.ignored && lhs.gap?.source == rhs.gap?.source && lhs.gap?.symbol == rhs.gap?.symbol
                && lhs.stoppedInstance == rhs.stoppedInstance
        }
    }

    /// One watched-topic message, decoded and checked against its contract (``decode(_:_:now:)``, a pure
    /// function the service runs outside its lock) and ready to apply.
    public enum Message: Sendable {
        case tick(source: String, symbol: String, venueSymbol: String, ts: Int64, received: Int64?)
        case gap(GapEvent)
        case heartbeat(Heartbeat, ignored: [IgnoreReason])
        /// A reject or a candle: counted per source.
        case counted(PipelineBook.Kind, source: String)
        /// Refused as a whole.
        case ignored(IgnoreReason)
    }

    /// Decodes one message of `topic` (`now`: the monitor's clock, the send time of a heartbeat without
    /// `ts`). Values outside the topic contracts come back as ``Message/ignored(_:)`` with the reason.
    public static func decode(_ topic: Topic, _ value: [UInt8], now: Int64) -> Message {
        if topic == .gaps {
            do { return .gap(try GapEvent(json: value)) } catch { return .ignored(reason(of: error)) }
        }
        if topic == .ticks { return decodeTick(value) }
        guard let message = try? JSONParser().parse(value) else { return .ignored(.malformed) }
        switch topic {
        case .ticks: return decodeTick(value)
        case .health:
            let reading = Heartbeat.read(message, receivedAt: now)
            guard let beat = reading.heartbeat else { return .ignored(reason(reading.refused ?? .malformed)) }
            return .heartbeat(beat, ignored: reading.ignored.map(reason))
        case .rejects: return .counted(.rejects, source: message["source"]?.stringValue ?? "unknown")
        case .candles, .gaps: return .counted(.candles, source: message["source"]?.stringValue ?? "unknown")
        }
    }

    /// A tick's few fields the monitor needs, read with ``JSONScanner`` (no tree: the whole document is
    /// still checked to be one valid object). A repeated member counts as its last occurrence, as in the tree.
    static func decodeTick(_ value: [UInt8]) -> Message {
        let scanner = JSONScanner(value)
        var source: String?, symbol: String?, venueSymbol: String?
        var ts: Int64?, received: Int64?
        do {
            try scanner.forEachMember { name, token throws(JSONParser.Error) in
                switch name.count {
                case 2 where scanner.name(name, equals: "ts"): ts = scanner.int64(token)
                case 6 where scanner.name(name, equals: "source"): source = scanner.string(token)
                case 6 where scanner.name(name, equals: "symbol"): symbol = scanner.string(token)
                case 7 where scanner.name(name, equals: "recv_ts"): received = scanner.int64(token)
                case 12 where scanner.name(name, equals: "venue_symbol"): venueSymbol = scanner.string(token)
                default: break
                }
            }
        } catch {
            return .ignored(.malformed)
        }
        guard let source, let symbol, let ts else { return .ignored(.malformed) }
        // Both times inside the consumers' window: their difference cannot overflow.
        guard ContractLimits.isPlausibleEventTime(ts), received.map(ContractLimits.isPlausibleEventTime) ?? true else {
            return .ignored(.invalidTimestamp)
        }
        return .tick(source: source, symbol: symbol, venueSymbol: venueSymbol ?? symbol, ts: ts, received: received)
    }

    /// Decodes and applies one message (``decode(_:_:now:)`` then ``apply(_:now:)``).
    public mutating func apply(_ topic: Topic, _ value: [UInt8], now: Int64) -> Applied {
        apply(Self.decode(topic, value, now: now), now: now)
    }

    /// Applies one decoded message (`now`: the monitor's clock). New keys beyond the caps are set aside
    /// and named in the answer.
    public mutating func apply(_ message: Message, now: Int64) -> Applied {
        var applied = Applied()
        switch message {
        case .ignored(let reason):
            return Applied(ignored: [reason])
        case .tick(let source, let symbol, let venueSymbol, let ts, let received):
            if let reason = board.tick(source: source, symbol: symbol, venueSymbol: venueSymbol, eventTs: ts, now: now) {
                return Applied(ignored: [reason])
            }
            if let reason = pipeline.count(.ticks, source: source, now: now) { applied.ignored.append(reason) }
            if let received, let reason = latency.record(.exchangeToReceive, source: source, nanoseconds: received - ts, now: now) {
                applied.ignored.append(reason)
            }
        case .gap(let gap):
            if let reason = board.gap(gap, now: now) { return Applied(ignored: [reason]) }
            if gap.reason == .book {
                applied.bookResync = (gap.source, gap.symbol)
            } else if gap.reason != .bootstrap {
                applied.gap = (gap.source, gap.symbol)
                applied.ignored += [pipeline.count(.gaps, source: gap.source, now: now)].compactMap { $0 }
            }
        case .heartbeat(let beat, let ignored):
            if let refusal = trust.refusal(service: beat.service, instance: beat.instance) {
                trust.refused(key: beat.key, reason: refusal, now: now)
                return Applied(ignored: [refusal])
            }
            if let reason = board.heartbeat(beat, now: now) { return Applied(ignored: [reason]) }
            applied.ignored += ignored
            applied.ignored += pipeline.heartbeat(beat, now: now)
            if beat.stopping {
                applied.stoppedInstance = beat.key
                return applied
            }
            let stages: [(String, LatencyBook.Measure)] = [("receive_to_ack", .receiveToAck), ("tick_to_candle", .tickToCandle)]
            for (name, measure) in stages {
                guard let sample = beat.latency.first(where: { $0.measure == name })?.sample, !sample.buckets.isEmpty else { continue }
                let buckets = sample.buckets.map { (micros: $0[0], count: $0[1]) }
                applied.ignored += [latency.merge(measure, source: "all", buckets: buckets, now: now)].compactMap { $0 }
            }
        case .counted(let kind, let source):
            applied.ignored += [pipeline.count(kind, source: source, now: now)].compactMap { $0 }
        }
        return applied
    }

    /// What an evaluation found, for the service to log, count, export and dispatch.
    public struct Evaluation: Sendable {
        /// Streams whose state changed, instances that went missing or came back, what was forgotten.
        public var board: StreamBoard.Evaluation
        /// Every stream and instance now.
        public var streams: [StreamStatus]
        public var instances: [InstanceStatus]
        /// Exchange-to-receive p99 per source (ms).
        public var latencyP99: [String: Int64]
        /// Stage p99 over every instance (µs): `receive_to_ack`, `tick_to_candle`.
        public var stageP99: [String: UInt64]
        public var lags: [PipelineBook.PartitionLag]
        public var backfill: PipelineBook.BackfillQueue?
        /// Alert events to send (firing, escalated, resolved).
        public var alerts: [AlertEvent]
        /// The ingestor fleets: which live instance streams which shard.
        public var fleets: [FleetStatus]

        /// Streams per state.
        public var perState: [StreamState: Int64] {
            var counts: [StreamState: Int64] = [:]
            for stream in streams { counts[stream.state, default: 0] += 1 }
            return counts
        }
    }

    /// Derives every state at `now` (monitor clock; `wall`: the wall clock, for market hours), forgets what
    /// expired, runs the alert rules and keeps their events.
    public mutating func evaluate(now: Int64, wall: Int64? = nil) -> Evaluation {
        let result = board.evaluate(now: now, wall: wall)
        for instance in result.instances where !instance.alive { pipeline.forget(instance: instance.key) }
        for key in result.forgottenInstances { pipeline.forget(instance: key) }
        pipeline.prune(now: now)
        latency.prune(now: now)
        let book = latency
        let latencyP99 = Dictionary(uniqueKeysWithValues: book.sources(.exchangeToReceive).compactMap { source in
            book.percentiles(.exchangeToReceive, source: source, now: now).map { (source, Int64($0.p99 / 1_000)) }
        })
        let stageP99 = Dictionary(uniqueKeysWithValues: [LatencyBook.Measure.receiveToAck, .tickToCandle].compactMap { measure in
            book.percentiles(measure, source: "all", now: now).map { (measure.rawValue, $0.p99) }
        })
        let streams = board.snapshot
        let instances = board.instanceSnapshot
        let fleets = FleetStatus.fleets(instances)
        var inputs = AlertInputs(streams: streams, instances: instances, latencyP99: latencyP99, gapsLastHour: board.gapsLastHour(now: now),
                                 fleets: fleets)
        inputs.bookResyncsLastHour = board.bookResyncsLastHour(now: now)
        let alerts = engine.evaluate(inputs, now: now)
        recentAlerts.append(contentsOf: alerts)
        if recentAlerts.count > Self.maxRecentAlerts { recentAlerts.removeFirst(recentAlerts.count - Self.maxRecentAlerts) }
        return Evaluation(board: result, streams: streams, instances: instances, latencyP99: latencyP99, stageP99: stageP99,
                          lags: pipeline.partitionLags, backfill: pipeline.backfill, alerts: alerts, fleets: fleets)
    }

    /// The ``IgnoreReason`` of a heartbeat problem.
    static func reason(_ problem: Heartbeat.Problem) -> IgnoreReason {
        switch problem {
        case .malformed: .malformed
        case .invalidName: .invalidName
        case .invalidTimestamp: .invalidTimestamp
        case .invalidNumber: .invalidNumber
        }
    }

    /// The ``IgnoreReason`` of a message its decoder refused.
    static func reason(of error: any Error) -> IgnoreReason {
        switch (error as? ContractError)?.reason {
        case "invalid_timestamp"?: return .invalidTimestamp
        case "invalid_source"?, "invalid_symbol"?, "invalid_text"?: return .invalidName
        default: return .malformed
        }
    }
}
