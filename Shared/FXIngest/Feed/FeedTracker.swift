import FXContracts
import FXCore
import FXVenues

/// The state of one provider connection and of every symbol it carries: a value type (keep it behind a
/// lock) whose methods return the gap events to publish. It decides:
/// - **disconnect**: when the connection drops, every symbol gets an open gap from its last event time;
///   the first event after the reconnect closes it (`to_ts` = that event's time).
/// - **stale**: no frame at all for `connectionStaleAfter` while a symbol's market is open -> open
///   `stale` gaps and ask for a reconnect; one symbol silent for `symbolStaleAfter` while its market is
///   open (measured from the later of its last message and the market's last opening, so the forex
///   weekend never counts) -> an open `stale` gap for that symbol, closed by its next event.
/// - **sequence**: a provider sequence that jumps by more than one -> a gap between the two events.
/// Heartbeats count as life and carry sequences like data. A market the venue itself says is closed
/// (``marketState(venueSymbol:open:reason:now:monotonic:)``) is quiet, as outside its market hours.
///
/// Times: `now` is the wall clock (ns since the epoch: event times, market hours, gap bounds); silence is
/// measured on `monotonic` (ns on a clock that never steps, e.g. `ContinuousClock`), so a wall-clock step
/// neither makes a live feed look silent nor hides a dead one. Callers that pass no `monotonic` reading
/// use `now` for both.
public struct FeedTracker: Sendable {
    /// What a venue promises about its stream (silence limits, numbering): defined with the venues.
    public typealias Settings = FeedExpectations
    public typealias SequenceCheck = FeedExpectations.SequenceCheck

    public enum State: String, Sendable {
        case connecting, subscribing, streaming, stale, backoff
        case circuitOpen = "circuit_open"
        case stopped
    }

    struct OpenGap: Sendable {
        var from: Int64
        var reason: GapEvent.Reason
        var detail: String
        /// Opened because the connection was lost or went silent (not one symbol's silence): a session the
        /// venue recovers with everything it sent in between withdraws it (``recovered()``).
        var connectionLevel = false
    }

    struct SymbolState: Sendable {
        let venueSymbol: String
        let symbol: String
        let hours: MarketHours
        var lastEventTs: Int64?
        /// Monotonic time of the symbol's last message.
        var lastSeenAt: Int64?
        var lastSequence: Int64?
        var lastTradeID: Int64?
        var openGap: OpenGap?
        /// The venue's own word that the market is closed (its reason); nil when open or never said.
        var venueClosed: String?
        /// That word as it stood when the connection was lost (a recovered session does not say it again).
        var venueClosedAtDrop: String?

        /// Open by the market hours and not closed by the venue's word.
        func isOpen(at now: Int64) -> Bool { venueClosed == nil && hours.isOpen(at: now) }
    }

    public let source: String
    public let connectionID: String
    public let instance: String
    public let settings: Settings
    public private(set) var state: State = .connecting
    private(set) var symbols: [String: SymbolState]
    /// Venue symbols in subscription order.
    public let venueSymbols: [String]
    private let startedAt: Int64
    private let startedMonotonic: Int64
    private var subscribedAt: Int64?
    private var subscribedMonotonic: Int64?
    private var lastFrameAt: Int64?
    private var lastFrameMonotonic: Int64?
    public private(set) var frames = 0
    public private(set) var reconnects = 0
    public private(set) var lastError: String?
    /// Data arrived since the current connection opened (resets the backoff, closes the circuit).
    public private(set) var deliveredData = false
    private var hasConnectedBefore = false
    /// Announce each symbol's first data since the tracker was made with a `bootstrap` event.
    private let announcesStart: Bool

    /// - Parameter symbols: `(venue symbol, canonical symbol, market hours)` for every subscribed symbol.
    public init(source: String, connectionID: String, instance: String, settings: Settings,
                symbols: [(venue: String, symbol: String, hours: MarketHours)], now: Int64, monotonic: Int64? = nil,
                announcesStart: Bool = false) {
        self.announcesStart = announcesStart
        self.source = source
        self.connectionID = connectionID
        self.instance = instance
        self.settings = settings
        self.startedAt = now
        self.startedMonotonic = monotonic ?? now
        self.venueSymbols = symbols.map(\.venue)
        var table: [String: SymbolState] = [:]
        for entry in symbols {
            table[entry.venue] = SymbolState(venueSymbol: entry.venue, symbol: entry.symbol, hours: entry.hours)
        }
        self.symbols = table
    }

    // MARK: Connection lifecycle

    public mutating func connecting() {
        state = .connecting
    }

    public mutating func circuitOpen() {
        state = .circuitOpen
    }

    public mutating func connected(now: Int64, monotonic: Int64? = nil) {
        state = .subscribing
        lastFrameAt = now
        lastFrameMonotonic = monotonic ?? now
        deliveredData = false
        if hasConnectedBefore { reconnects += 1 }
        hasConnectedBefore = true
    }

    /// Subscriptions were sent (`acknowledged` false) or confirmed by the provider (true). Only a
    /// confirmation or data counts as a working connection for the backoff and the circuit breaker.
    public mutating func subscribed(now: Int64, monotonic: Int64? = nil, acknowledged: Bool) {
        if state == .subscribing { state = .streaming }
        if subscribedAt == nil {
            subscribedAt = now
            subscribedMonotonic = monotonic ?? now
        }
        if acknowledged { deliveredData = true }
    }

    public mutating func frameReceived(now: Int64, monotonic: Int64? = nil) {
        frames += 1
        lastFrameAt = now
        lastFrameMonotonic = monotonic ?? now
    }

    public mutating func providerError(_ message: String) {
        lastError = message
    }

    /// The connection ended (or an attempt failed): every symbol without an open gap gets a `disconnect`
    /// gap from its last event; sequences restart (the gap covers the jump).
    public mutating func disconnected(now: Int64, detail: String) {
        state = .backoff
        lastError = detail
        for venue in venueSymbols {
            guard var entry = symbols[venue] else { continue }
            if entry.openGap == nil {
                entry.openGap = OpenGap(from: entry.lastEventTs ?? subscribedAt ?? startedAt, reason: .disconnect,
                                        detail: "connection \(connectionID) lost: \(detail)", connectionLevel: true)
            }
            entry.lastSequence = nil
            entry.lastTradeID = nil
            // The venue says again on the next connection (OANDA's snapshot): until then, not known closed.
            if entry.venueClosed != nil { entry.venueClosedAtDrop = entry.venueClosed }
            entry.venueClosed = nil
            symbols[venue] = entry
        }
    }

    // MARK: Events

    /// A tick or heartbeat for `venueSymbol` with event time `eventTs`: closes the symbol's open gap or
    /// reports a sequence jump. Unknown symbols (not subscribed here) are ignored.
    /// - Parameters:
    ///   - tradeID: a trade's numeric id (for ``SequenceCheck/tradeID``).
    ///   - lastTradeID: a heartbeat's `last_trade_id` (same; 0 or nil is ignored).
    public mutating func observe(venueSymbol: String, eventTs: Int64, sequence: Int64?, tradeID: Int64? = nil,
                                 lastTradeID: Int64? = nil, now: Int64, monotonic: Int64? = nil) -> [GapEvent] {
        guard var entry = symbols[venueSymbol] else { return [] }
        deliveredData = true
        if state == .subscribing || state == .stale { state = .streaming }
        var gaps: [GapEvent] = []
        if announcesStart, entry.lastEventTs == nil {
            gaps.append(gap(entry, from: eventTs, to: eventTs, reason: .bootstrap,
                            detail: "first data of this symbol since the ingestor started", now: now))
        }
        if let open = entry.openGap {
            gaps.append(gap(entry, from: open.from, to: eventTs, reason: open.reason, detail: open.detail, now: now))
            entry.openGap = nil
        } else {
            switch settings.sequenceCheck {
            case .off:
                break
            case .contiguous:
                if let sequence, let last = entry.lastSequence, sequence > last &+ 1 {
                    gaps.append(gap(entry, from: entry.lastEventTs ?? eventTs, to: eventTs, reason: .sequence,
                                    detail: "sequence jumped from \(last) to \(sequence): \(sequence.subtractingClamped(last).subtractingClamped(1)) missing", now: now))
                }
            case .tradeID:
                let seen = tradeID ?? lastTradeID.flatMap { $0 > 0 ? $0 : nil }
                let expected = tradeID == nil ? entry.lastTradeID : entry.lastTradeID.map { $0 &+ 1 }
                if let seen, let last = entry.lastTradeID, let expected, seen > expected {
                    let missing = seen.subtractingClamped(last).subtractingClamped(tradeID == nil ? 0 : 1)
                    gaps.append(gap(entry, from: entry.lastEventTs ?? eventTs, to: eventTs, reason: .sequence,
                                    detail: "trade id jumped from \(last) to \(seen): \(missing) trade(s) missing", now: now))
                }
            }
        }
        if let sequence, sequence > (entry.lastSequence ?? .min) { entry.lastSequence = sequence }
        let seenTrade = tradeID ?? lastTradeID.flatMap { $0 > 0 ? $0 : nil }
        if let seenTrade, seenTrade > (entry.lastTradeID ?? .min) { entry.lastTradeID = seenTrade }
        entry.lastEventTs = max(entry.lastEventTs ?? eventTs, eventTs)
        entry.lastSeenAt = monotonic ?? now
        symbols[venueSymbol] = entry
        return gaps
    }

    /// The venue says whether the symbol's market is open (OANDA `tradeable`, IG `MARKET_STATE`). While
    /// closed, the symbol is quiet: no `stale` gap, and a frame-less connection is not dropped for it; on
    /// reopening its silence counts from then.
    /// A closed statement closes the symbol's open gap at the venue's time (`eventTs`, no earlier than the
    /// gap's start): nothing is missing after the market closed.
    public mutating func marketState(venueSymbol: String, open: Bool, reason: String, eventTs: Int64? = nil, now: Int64,
                                     monotonic: Int64? = nil) -> [GapEvent] {
        guard var entry = symbols[venueSymbol] else { return [] }
        var gaps: [GapEvent] = []
        deliveredData = true
        if state == .subscribing || state == .stale { state = .streaming }
        entry.venueClosedAtDrop = nil   // said now: what stood before a loss no longer matters
        if open {
            if entry.venueClosed != nil { entry.lastSeenAt = monotonic ?? now }
            entry.venueClosed = nil
        } else {
            entry.venueClosed = reason
            entry.lastSeenAt = monotonic ?? now
            if let open = entry.openGap {
                gaps.append(gap(entry, from: open.from, to: max(open.from, eventTs ?? now), reason: open.reason,
                                detail: open.detail + "; the market closed (\(reason))", now: now))
                entry.openGap = nil
            }
        }
        symbols[venueSymbol] = entry
        return gaps
    }

    /// The venue says it dropped `count` updates of the symbol (Lightstreamer's `OV`, an overflow): a
    /// `sequence` gap from its last event, closed by its next one.
    public mutating func lost(venueSymbol: String, count: Int) {
        guard var entry = symbols[venueSymbol], entry.openGap == nil else { return }
        entry.openGap = OpenGap(from: entry.lastEventTs ?? subscribedAt ?? startedAt, reason: .sequence,
                                detail: "the venue dropped \(count) update(s) on connection \(connectionID) (overflow)")
        symbols[venueSymbol] = entry
    }

    /// The venue recovered the session the lost connection carried, and resends everything it sent since
    /// (Lightstreamer's recovery): the gaps the loss or the silence opened are withdrawn (nothing is
    /// missing), and the market states stand as they were. A symbol's own silence stays open.
    public mutating func recovered() {
        for venue in venueSymbols {
            guard var entry = symbols[venue] else { continue }
            if entry.openGap?.connectionLevel == true { entry.openGap = nil }
            if entry.venueClosed == nil { entry.venueClosed = entry.venueClosedAtDrop }
            entry.venueClosedAtDrop = nil
            symbols[venue] = entry
        }
    }

    /// Symbols whose venue says their market is closed: canonical symbol -> the venue's reason.
    public var closedMarkets: [String: String] {
        Dictionary(symbols.values.compactMap { entry in entry.venueClosed.map { (entry.symbol, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    // MARK: Watchdog

    /// Checks for silence at `now`. Returns a reason when the connection should be dropped and
    /// re-established (its open `stale` gaps then close on the first events after resubscribing).
    public mutating func watchdog(now: Int64, monotonic: Int64? = nil) -> String? {
        guard state == .subscribing || state == .streaming || state == .stale else { return nil }
        let monotonic = monotonic ?? now
        let connectionLimit = settings.connectionStaleAfter.nanosecondsClamped
        if let lastFrameMonotonic, monotonic.subtractingClamped(lastFrameMonotonic) > connectionLimit {
            // By the hours only: a venue that says its markets are closed still sends heartbeats, so a
            // frame-less connection is dead whatever it said before.
            let open = venueSymbols.filter { symbols[$0]?.hours.isOpen(at: now) == true }
            if !open.isEmpty {
                let seconds = monotonic.subtractingClamped(lastFrameMonotonic) / 1_000_000_000
                for venue in open {
                    openStaleGap(venue, detail: "connection \(connectionID) silent for \(seconds)s with TCP open", connectionLevel: true)
                }
                state = .stale
                return "no frames for \(seconds)s while markets are open"
            }
        }
        let symbolLimit = settings.symbolStaleAfter.nanosecondsClamped
        for venue in venueSymbols {
            guard let entry = symbols[venue], entry.openGap == nil, entry.isOpen(at: now) else { continue }
            // Silent since its last message (monotonic), or since the market last opened (wall clock), whichever is shorter.
            var silence = monotonic.subtractingClamped(entry.lastSeenAt ?? subscribedMonotonic ?? startedMonotonic)
            if let opening = entry.hours.lastOpening(atOrBefore: now) { silence = min(silence, now.subtractingClamped(opening)) }
            if silence > symbolLimit {
                openStaleGap(venue, detail: "no data for \(silence / 1_000_000_000)s while the market is open")
            }
        }
        return nil
    }

    private mutating func openStaleGap(_ venue: String, detail: String, connectionLevel: Bool = false) {
        guard var entry = symbols[venue], entry.openGap == nil else { return }
        entry.openGap = OpenGap(from: entry.lastEventTs ?? subscribedAt ?? startedAt, reason: .stale, detail: detail,
                                connectionLevel: connectionLevel)
        symbols[venue] = entry
    }

    /// At shutdown: every open gap is published with `to_ts` = now, so the record of holes is complete.
    public mutating func closeAll(now: Int64) -> [GapEvent] {
        state = .stopped
        var gaps: [GapEvent] = []
        for venue in venueSymbols {
            guard var entry = symbols[venue], let open = entry.openGap else { continue }
            gaps.append(gap(entry, from: open.from, to: now, reason: open.reason,
                            detail: open.detail + "; still open when the ingestor stopped", now: now))
            entry.openGap = nil
            symbols[venue] = entry
        }
        return gaps
    }

    private func gap(_ entry: SymbolState, from: Int64, to: Int64, reason: GapEvent.Reason, detail: String, now: Int64) -> GapEvent {
        GapEvent(source: source, symbol: entry.symbol, venueSymbol: entry.venueSymbol, from: from, to: to, reason: reason,
                 detectedAt: now, detail: detail, instance: instance)
    }

    // MARK: Health

    public var staleSymbols: Int { symbols.values.filter { $0.openGap?.reason == .stale }.count }
    /// The newest event time seen per venue symbol (symbols without data yet are left out).
    public var lastEventTimes: [String: Int64] {
        symbols.compactMapValues(\.lastEventTs)
    }

    public var symbolsWithOpenGaps: Int { symbols.values.filter { $0.openGap != nil }.count }
    public var lastMessageAt: Int64? { lastFrameAt }
}
