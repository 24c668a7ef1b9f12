import FXContracts
import FXCore
import FXVenues

/// Every stream's state and every instance's liveness, as a value type: events go in (ticks, gap
/// events, heartbeats), ``evaluate(now:wall:)`` returns the state changes. The clock is an argument
/// everywhere (ns), so a weekend or a silence is a test input: `now` is the monitor's monotonic clock
/// (``MonitorClock``: silences), `wall` the wall clock (market hours).
///
/// A stream is
/// - `down` when no alive ingestor instance reports a connection of its source in `streaming` or
///   `subscribing` (or no ingestor has been heard from within `instanceMissingAfter`);
/// - `live` when its last tick arrived within its source's `staleAfter`;
/// - `quiet` when its market is closed (by its hours, or by its venue's word in an ingestor heartbeat's
///   `market_closed`), or opened less than `staleAfter` ago, or when a connection of
///   its source received a message within `staleAfter` and the ingestor counts no stale symbol on it
///   (the feed is alive, the symbol just has no trades);
/// - `stale` otherwise.
///
/// Bounded: at most `maxStreams` streams and `maxInstances` instances (a new key beyond is ignored and
/// reported), each heartbeat's first ``Settings/maxConnections`` connections, a stream's last
/// ``Settings/maxRecentGaps`` gap arrivals. An instance that says `"stopping": true` is removed at once; a
/// missing one is forgotten after `instanceForgetAfter`, a stream without data after `streamForgetAfter`.
public struct StreamBoard: Sendable {
    public struct Settings: Sendable {
        /// Silence after which a stream is no longer live, per source (default: the ingestor's own
        /// per-symbol threshold for that provider, 120 s for an unknown one).
        public var staleAfter: [String: Duration] = [:]
        /// An instance whose heartbeat is older than this is missing (3 heartbeat intervals).
        public var instanceMissingAfter: Duration = .seconds(15)
        /// A missing instance is forgotten (and its `instance_missing` alert resolves) after this.
        public var instanceForgetAfter: Duration = .seconds(3_600)
        /// A stream without ticks or gap events for this long is forgotten (longer than a weekend close).
        public var streamForgetAfter: Duration = .seconds(72 * 3_600)
        public var maxStreams = 10_000
        public var maxInstances = 256
        /// Connections read from one ingestor heartbeat.
        public static let maxConnections = 256
        /// Gap arrivals kept per stream for `gaps_per_hour` (a count above saturates here).
        public static let maxRecentGaps = 1_000

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
        /// When its `book` gap events (order book resyncs) arrived (ns, monitor clock), the last hour.
        var recentBookResyncs: [Int64] = []
        /// When the monitor last heard of it at all (ticks, gap events).
        var lastHeard: Int64
    }

    /// What one evaluation found: state changes, instances that went missing or came back, and what was forgotten.
    public struct Evaluation: Sendable {
        public var streams: [StreamTransition]
        public var instances: [InstanceStatus]
        /// Missing instances forgotten now (`<service>:<instance>`).
        public var forgottenInstances: [String]
        /// Streams forgotten now (`source|symbol`).
        public var forgottenStreams: [String]
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

    public var streamCount: Int { streams.count }
    public var instanceCount: Int { instances.count }

    // MARK: Inputs

    /// A tick of `<prefix>ticks`; nil when applied, else why it was ignored.
    @discardableResult
    public mutating func tick(source: String, symbol: String, venueSymbol: String, eventTs: Int64, now: Int64) -> IgnoreReason? {
        guard ContractLimits.isPlausibleEventTime(eventTs) else { return .invalidTimestamp }
        let key = Self.key(source, symbol)
        // A known stream with the same names (checked when it was created): updated in place, one lookup.
        if let index = streams.index(forKey: key) {
            let status = streams.values[index].status
            if status.source == source, status.symbol == symbol, status.venueSymbol == venueSymbol {
                streams.values[index].status.lastEventTs = max(status.lastEventTs ?? eventTs, eventTs)
                streams.values[index].status.lastReceivedAt = now
                streams.values[index].status.ticks = status.ticks.addingClamped(1)
                streams.values[index].lastHeard = now
                return nil
            }
        }
        guard ContractLimits.isValidSource(source), ContractLimits.isValidSymbol(symbol),
              ContractLimits.isValidVenueSymbol(venueSymbol) else { return .invalidName }
        guard var stream = streams[key] ?? newStream(key, source: source, symbol: symbol, venueSymbol: venueSymbol, now: now) else {
            return .streamCap
        }
        stream.status.lastEventTs = max(stream.status.lastEventTs ?? eventTs, eventTs)
        stream.status.lastReceivedAt = now
        stream.status.ticks = stream.status.ticks.addingClamped(1)
        stream.lastHeard = now
        streams[key] = stream
        return nil
    }

    /// A gap event of `<prefix>gaps` (`bootstrap` events only make the stream known).
    @discardableResult
    public mutating func gap(_ event: GapEvent, now: Int64) -> IgnoreReason? {
        // An empty venue symbol is allowed: the emitter did not know it (a `retention` gap).
        guard ContractLimits.isValidSource(event.source), ContractLimits.isValidSymbol(event.symbol),
              event.venueSymbol.isEmpty || ContractLimits.isValidVenueSymbol(event.venueSymbol) else { return .invalidName }
        guard ContractLimits.isPlausibleEventTime(event.from), ContractLimits.isPlausibleEventTime(event.to) else { return .invalidTimestamp }
        let key = Self.key(event.source, event.symbol)
        let venueSymbol = event.venueSymbol.isEmpty ? event.symbol : event.venueSymbol
        guard var stream = streams[key] ?? newStream(key, source: event.source, symbol: event.symbol, venueSymbol: venueSymbol, now: now) else {
            return .streamCap
        }
        if event.reason == .book {
            // A resync of the symbol's order book: its ticks are not affected (not a gap of the stream).
            stream.recentBookResyncs = Array(stream.recentBookResyncs.filter { now.subtractingClamped($0) < 3_600_000_000_000 }
                .suffix(Settings.maxRecentGaps - 1)) + [now]
        } else if event.reason != .bootstrap {
            stream.status.gaps = stream.status.gaps.addingClamped(1)
            stream.recentGaps = Array(stream.recentGaps.filter { now.subtractingClamped($0) < 3_600_000_000_000 }.suffix(Settings.maxRecentGaps - 1)) + [now]
        }
        stream.lastHeard = now
        streams[key] = stream
        return nil
    }

    /// A heartbeat of `<prefix>health` (any service; ingestor heartbeats also report connections), read by
    /// ``Heartbeat/read(_:receivedAt:)``. A heartbeat with `"stopping": true` (the last of an instance
    /// stopping gracefully) removes the instance.
    @discardableResult
    public mutating func heartbeat(_ beat: Heartbeat, now: Int64) -> IgnoreReason? {
        let key = beat.key
        if beat.stopping {
            instances[key] = nil
            connections[key] = nil
            pendingInstanceChanges.removeAll { $0.key == key }
            return nil
        }
        let previous = instances[key]
        guard previous != nil || instances.count < settings.maxInstances else { return .instanceCap }
        let status = InstanceStatus(service: beat.service, instance: beat.instance, lastSeen: now, heartbeatTs: beat.timestamp, alive: true,
                                    fleet: beat.ingestor?.fleet)
        instances[key] = status
        if previous?.alive != true { pendingInstanceChanges.append(status) }
        guard beat.service == "ingestor" else { return nil }
        connections[key] = (beat.ingestor?.connections ?? []).prefix(Settings.maxConnections).compactMap { connection in
            guard let state = connection.state else { return nil }
            let silence = connection.lastMessageTs.map { beat.timestamp - $0 }.flatMap { $0 >= 0 ? $0 : nil }   // both plausible: no overflow
            return ConnectionReport(id: connection.id, source: connection.source, state: state.rawValue, lastMessageTs: connection.lastMessageTs,
                                    staleSymbols: Int(connection.staleSymbols), marketClosed: connection.marketClosed,
                                    books: connection.books, silence: silence)
        }
        return nil
    }

    // MARK: Evaluation

    /// Re-derives every state at `now` (monitor clock; `wall`: the wall clock, for market hours); returns
    /// the streams whose state changed, the instances that went missing or came back, and what was forgotten.
    public mutating func evaluate(now: Int64, wall: Int64? = nil) -> Evaluation {
        let wall = wall ?? now
        var instanceChanges = pendingInstanceChanges
        pendingInstanceChanges = []
        let missingAfter = settings.instanceMissingAfter.nanosecondsClamped
        let forgetAfter = missingAfter.addingClamped(settings.instanceForgetAfter.nanosecondsClamped)
        var forgottenInstances: [String] = []
        for (key, instance) in instances {
            let silence = now.subtractingClamped(instance.lastSeen)
            if silence > forgetAfter {
                instances[key] = nil
                connections[key] = nil
                forgottenInstances.append(key)
            } else if instance.alive && silence > missingAfter {
                instances[key]?.alive = false
                instanceChanges.append(instances[key]!)
            }
        }
        let streamForgetAfter = settings.streamForgetAfter.nanosecondsClamped
        let forgottenStreams = streams.filter { now.subtractingClamped($0.value.lastHeard) > streamForgetAfter }.keys.sorted()
        for key in forgottenStreams { streams[key] = nil }
        let feeds = Feeds(board: self)
        var transitions: [StreamTransition] = []
        var thresholds: [String: Int64] = [:]   // one provider lookup per source, not per stream
        for key in streams.keys.sorted() {
            guard var stream = streams[key] else { continue }
            let source = stream.status.source
            let threshold = thresholds[source] ?? settings.threshold(source)
            thresholds[source] = threshold
            let (state, reason) = derive(stream, feeds: feeds, threshold: threshold, now: now, wall: wall)
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
        return Evaluation(streams: transitions, instances: instanceChanges, forgottenInstances: forgottenInstances.sorted(),
                          forgottenStreams: forgottenStreams)
    }

    /// The alive ingestors' connections by source, gathered once per evaluation.
    struct Feeds {
        var anyIngestor: Bool
        var bySource: [String: [ConnectionReport]]

        init(board: StreamBoard) {
            let alive = board.instances.values.filter { $0.service == "ingestor" && $0.alive }.map(\.key)
            anyIngestor = !alive.isEmpty
            bySource = Dictionary(grouping: alive.flatMap { key in
                (board.connections[key] ?? []).map { report in
                    var report = report
                    report.heardAt = board.instances[key]?.lastSeen ?? 0
                    return report
                }
            }, by: \.source)
        }
    }

    private func derive(_ stream: Stream, feeds: Feeds, threshold: Int64, now: Int64, wall: Int64) -> (StreamState, String) {
        let source = stream.status.source
        let reports = feeds.bySource[source] ?? []
        guard feeds.anyIngestor else { return (.down, "no ingestor heartbeat for \(Self.seconds(settings.instanceMissingAfter.nanosecondsClamped))") }
        guard reports.contains(where: { ["streaming", "subscribing", "stale"].contains($0.state) }) else {
            let states = Set(reports.map(\.state)).sorted().joined(separator: ", ")
            return (.down, reports.isEmpty ? "no ingestor carries \(source)" : "no \(source) connection is streaming (\(states))")
        }
        if let received = stream.status.lastReceivedAt, now.subtractingClamped(received) <= threshold {
            return (.live, "ticks arriving")
        }
        let silence = now.subtractingClamped(stream.status.lastReceivedAt ?? stream.knownSince)
        if !stream.hours.isOpen(at: wall) { return (.quiet, "market closed") }
        // The venue's own word (OANDA `tradeable: false`), from a streaming connection that carries the symbol.
        if let reason = reports.lazy.filter({ $0.state == "streaming" }).compactMap({ $0.marketClosed[stream.status.symbol] }).first {
            return (.quiet, "market closed: \(reason)")
        }
        if let opening = stream.hours.lastOpening(atOrBefore: wall), wall.subtractingClamped(opening) <= threshold {
            return (.quiet, "market opened \(Self.seconds(wall.subtractingClamped(opening))) ago")
        }
        // The connection's silence as its heartbeat reported it (ingestor clock), plus the heartbeat's age (monitor clock).
        let feedAlive = reports.contains { report in
            report.state == "streaming" && report.staleSymbols == 0
                && (report.silence.map { $0.addingClamped(now.subtractingClamped(report.heardAt)) <= threshold } ?? false)
        }
        if feedAlive { return (.quiet, "no ticks for \(Self.seconds(silence)); the \(source) feed is alive") }
        return (.stale, "no data for \(Self.seconds(silence)) while the market is open")
    }

    // MARK: Reading

    public var snapshot: [StreamStatus] { streams.keys.sorted().compactMap { streams[$0]?.status } }

    /// Gap events per stream (`source|symbol`) in the hour before `now`.
    public func gapsLastHour(now: Int64) -> [String: Int64] {
        streams.compactMapValues { stream in
            let count = stream.recentGaps.filter { now.subtractingClamped($0) < 3_600_000_000_000 }.count
            return count > 0 ? Int64(count) : nil
        }
    }
    /// Order book resyncs (`book` gap events) per stream (`source|symbol`) in the hour before `now`.
    public func bookResyncsLastHour(now: Int64) -> [String: Int64] {
        streams.compactMapValues { stream in
            let count = stream.recentBookResyncs.filter { now.subtractingClamped($0) < 3_600_000_000_000 }.count
            return count > 0 ? Int64(count) : nil
        }
    }

    /// Every order book the live ingestors report, by source and symbol (a book kept by two instances, a
    /// redundant fleet, is listed once per instance).
    public func books(now: Int64) -> [BookStatus] {
        let lastHour = bookResyncsLastHour(now: now)
        var books: [BookStatus] = []
        for (key, reports) in connections where instances[key]?.alive == true {
            for report in reports {
                for book in report.books {
                    books.append(BookStatus(source: report.source, symbol: book.symbol, venueSymbol: book.venueSymbol, state: book.state,
                                            epoch: book.epoch, seq: book.seq, resyncs: book.resyncs,
                                            resyncsLastHour: lastHour[Self.key(report.source, book.symbol)] ?? 0,
                                            lastChecksumFailureTs: book.lastChecksumFailureTs, lastError: book.lastError,
                                            instance: key, connection: report.id))
                }
            }
        }
        return books.sorted { ($0.source, $0.symbol, $0.instance) < ($1.source, $1.symbol, $1.instance) }
    }

    public var instanceSnapshot: [InstanceStatus] { instances.keys.sorted().compactMap { instances[$0] } }

    static func key(_ source: String, _ symbol: String) -> String { "\(source)|\(symbol)" }

    /// A service name: 1-32 bytes of `a-z 0-9 _ -` (the same alphabet as a source).
    public static func isValidService(_ name: String) -> Bool { Heartbeat.isValidService(name) }
    /// An instance name (a pod name, a host name): 1-253 bytes without control characters.
    public static func isValidInstance(_ name: String) -> Bool { Heartbeat.isValidInstance(name) }

    /// A new stream, or nil while `maxStreams` are known.
    private func newStream(_ key: String, source: String, symbol: String, venueSymbol: String, now: Int64) -> Stream? {
        guard streams.count < settings.maxStreams else { return nil }
        let hours = (try? ProviderRegistry.provider(source))?.marketHours(for: venueSymbol) ?? .continuous
        return Stream(status: StreamStatus(source: source, symbol: symbol, venueSymbol: venueSymbol, state: .stale, since: 0,
                                           reason: "", lastEventTs: nil, lastReceivedAt: nil, ticks: 0, gaps: 0),
                      hours: hours, knownSince: now, lastHeard: now)
    }

    static func seconds(_ nanoseconds: Int64) -> String { "\(nanoseconds / 1_000_000_000) s" }
}
