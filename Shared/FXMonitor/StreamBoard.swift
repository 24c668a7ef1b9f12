import FXCore
import FXIngest

/// Every stream's state and every instance's liveness, as a value type: events go in (ticks, gap
/// events, heartbeats), ``evaluate(now:)`` returns the state changes. The clock is an argument
/// everywhere (ns), so a weekend or a silence is a test input.
///
/// A stream is
/// - `down` when no alive ingestor instance reports a connection of its source in `streaming` or
///   `subscribing` (or no ingestor has been heard from within `instanceMissingAfter`);
/// - `live` when its last tick arrived within its source's `staleAfter`;
/// - `quiet` when its market is closed (or opened less than `staleAfter` ago), or when a connection of
///   its source received a message within `staleAfter` and the ingestor counts no stale symbol on it
///   (the feed is alive, the symbol just has no trades);
/// - `stale` otherwise.
public struct StreamBoard: Sendable {
    public struct Settings: Sendable {
        /// Silence after which a stream is no longer live, per source (default: the ingestor's own
        /// per-symbol threshold for that provider, 120 s for an unknown one).
        public var staleAfter: [String: Duration] = [:]
        /// An instance whose heartbeat is older than this is missing (3 heartbeat intervals).
        public var instanceMissingAfter: Duration = .seconds(15)

        public init() {}

        public func threshold(_ source: String) -> Int64 {
            let duration = staleAfter[source] ?? (try? ProviderRegistry.provider(source))?.defaults.tracker.symbolStaleAfter ?? .seconds(120)
            return duration.nanosecondsClamped
        }
    }

    struct Stream: Sendable {
        var status: StreamStatus
        let hours: MarketHours
        /// When the monitor first heard of the stream (ns, monitor clock).
        let knownSince: Int64
        /// When its gap events arrived (ns, monitor clock), the last hour.
        var recentGaps: [Int64] = []
    }

    public let settings: Settings
    private(set) var streams: [String: Stream] = [:]
    private(set) var instances: [String: InstanceStatus] = [:]
    /// Ingestor instance key -> its connections in its latest heartbeat.
    private(set) var connections: [String: [ConnectionReport]] = [:]
    private var pendingInstanceChanges: [InstanceStatus] = []

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    // MARK: Inputs

    /// A tick of `<prefix>ticks`.
    public mutating func tick(source: String, symbol: String, venueSymbol: String, eventTs: Int64, now: Int64) {
        let key = Self.key(source, symbol)
        var stream = streams[key] ?? Self.newStream(source: source, symbol: symbol, venueSymbol: venueSymbol, now: now)
        stream.status.lastEventTs = max(stream.status.lastEventTs ?? eventTs, eventTs)
        stream.status.lastReceivedAt = now
        stream.status.ticks += 1
        streams[key] = stream
    }

    /// A gap event of `<prefix>gaps` (`bootstrap` events only make the stream known).
    public mutating func gap(_ event: GapEvent, now: Int64) {
        let key = Self.key(event.source, event.symbol)
        var stream = streams[key] ?? Self.newStream(source: event.source, symbol: event.symbol, venueSymbol: event.venueSymbol, now: now)
        if event.reason != .bootstrap {
            stream.status.gaps += 1
            stream.recentGaps = stream.recentGaps.filter { now - $0 < 3_600_000_000_000 } + [now]
        }
        streams[key] = stream
    }

    /// A heartbeat of `<prefix>health` (any service; ingestor heartbeats also report connections).
    public mutating func heartbeat(_ message: JSONValue, now: Int64) {
        guard let service = message["service"]?.stringValue, let instance = message["instance"]?.stringValue else { return }
        let key = "\(service):\(instance)"
        let previous = instances[key]
        let status = InstanceStatus(service: service, instance: instance, lastSeen: now,
                                    heartbeatTs: message["ts"]?.int64Value ?? now, alive: true)
        instances[key] = status
        if previous?.alive != true { pendingInstanceChanges.append(status) }
        guard service == "ingestor" else { return }
        connections[key] = (message["connections"]?.arrayValue ?? []).compactMap { connection in
            guard let id = connection["id"]?.stringValue, let source = connection["source"]?.stringValue,
                  let state = connection["state"]?.stringValue else { return nil }
            return ConnectionReport(id: id, source: source, state: state, lastMessageTs: connection["last_message_ts"]?.int64Value,
                                    staleSymbols: Int(connection["stale_symbols"]?.int64Value ?? 0))
        }
    }

    // MARK: Evaluation

    /// Re-derives every state at `now`; returns the streams whose state changed and the instances that
    /// went missing or came back.
    public mutating func evaluate(now: Int64) -> (streams: [StreamTransition], instances: [InstanceStatus]) {
        var instanceChanges = pendingInstanceChanges
        pendingInstanceChanges = []
        let missingAfter = settings.instanceMissingAfter.nanosecondsClamped
        for (key, instance) in instances where instance.alive && now - instance.lastSeen > missingAfter {
            instances[key]?.alive = false
            instanceChanges.append(instances[key]!)
        }
        var transitions: [StreamTransition] = []
        for key in streams.keys.sorted() {
            guard var stream = streams[key] else { continue }
            let (state, reason) = derive(stream, now: now)
            if state != stream.status.state || stream.status.since == 0 {
                transitions.append(StreamTransition(source: stream.status.source, symbol: stream.status.symbol,
                                                    from: stream.status.since == 0 ? nil : stream.status.state,
                                                    to: state, reason: reason, at: now))
                stream.status.state = state
                stream.status.since = now
            }
            stream.status.reason = reason
            streams[key] = stream
        }
        return (transitions, instanceChanges)
    }

    private func derive(_ stream: Stream, now: Int64) -> (StreamState, String) {
        let source = stream.status.source
        let threshold = settings.threshold(source)
        let aliveIngestors = instances.values.filter { $0.service == "ingestor" && $0.alive }.map(\.key)
        let reports = aliveIngestors.flatMap { connections[$0] ?? [] }.filter { $0.source == source }
        guard !aliveIngestors.isEmpty else { return (.down, "no ingestor heartbeat for \(Self.seconds(settings.instanceMissingAfter.nanosecondsClamped))") }
        guard reports.contains(where: { ["streaming", "subscribing", "stale"].contains($0.state) }) else {
            let states = Set(reports.map(\.state)).sorted().joined(separator: ", ")
            return (.down, reports.isEmpty ? "no ingestor carries \(source)" : "no \(source) connection is streaming (\(states))")
        }
        if let received = stream.status.lastReceivedAt, now - received <= threshold {
            return (.live, "ticks arriving")
        }
        let silence = now - (stream.status.lastReceivedAt ?? stream.knownSince)
        if !stream.hours.isOpen(at: now) { return (.quiet, "market closed") }
        if let opening = stream.hours.lastOpening(atOrBefore: now), now - opening <= threshold {
            return (.quiet, "market opened \(Self.seconds(now - opening)) ago")
        }
        let feedAlive = reports.contains { report in
            report.state == "streaming" && report.staleSymbols == 0 && (report.lastMessageTs.map { now - $0 <= threshold } ?? false)
        }
        if feedAlive { return (.quiet, "no ticks for \(Self.seconds(silence)); the \(source) feed is alive") }
        return (.stale, "no data for \(Self.seconds(silence)) while the market is open")
    }

    // MARK: Reading

    public var snapshot: [StreamStatus] { streams.keys.sorted().compactMap { streams[$0]?.status } }

    /// Gap events per stream (`source|symbol`) in the hour before `now`.
    public func gapsLastHour(now: Int64) -> [String: Int64] {
        streams.compactMapValues { stream in
            let count = stream.recentGaps.filter { now - $0 < 3_600_000_000_000 }.count
            return count > 0 ? Int64(count) : nil
        }
    }
    public var instanceSnapshot: [InstanceStatus] { instances.keys.sorted().compactMap { instances[$0] } }

    static func key(_ source: String, _ symbol: String) -> String { "\(source)|\(symbol)" }

    static func newStream(source: String, symbol: String, venueSymbol: String, now: Int64) -> Stream {
        let hours = (try? ProviderRegistry.provider(source))?.marketHours(for: venueSymbol) ?? .continuous
        return Stream(status: StreamStatus(source: source, symbol: symbol, venueSymbol: venueSymbol, state: .stale, since: 0,
                                           reason: "", lastEventTs: nil, lastReceivedAt: nil, ticks: 0, gaps: 0),
                      hours: hours, knownSince: now)
    }

    static func seconds(_ nanoseconds: Int64) -> String { "\(nanoseconds / 1_000_000_000) s" }
}
