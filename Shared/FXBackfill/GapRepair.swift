import FXContracts
import FXCore
import FXVenues

/// One claimed gap's repair, as a value type: from the gap, its source's history, the answers to its
/// requests and the lease clock, it decides what to do next, one ``Action`` at a time; ``GapRepairer``
/// carries each action out (HTTP, the candle store, Kafka, the ledger) and reports back. It decides:
/// - **what to ask**: the minute holding `from` through the minute holding `to`, in pages of the
///   history's `maxMinutesPerRequest`, oldest first; a gap of a source without REST history here, or
///   with a window outside 2000-01-01 ... 2100-01-01, is `unfillable` at once;
/// - **what an answer means**: candles are written (the minutes of the page without one are confirmed
///   empty); the venue refusing this history makes the gap `unfillable`; a failure, a transport error or a
///   request that cannot be built makes it `failed`; a malformed answer is quarantined, then `failed`;
/// - **the lease**: renewed after every page written; a page whose lease ran out on the lease clock
///   while it was being fetched is written only once the renewal says this owner still has the gap;
///   a renewal refused means another owner has it: the repair ends `leaseLost` and writes nothing more;
/// - **retries**: a `failed` gap is due again after capped exponential backoff (``retryDelay(attempts:)``).
///
/// Times: `now` readings are on a monotonic clock (the lease clock). A lease counts from the reading
/// taken before the statement that granted it was sent, so it never outlives the ledger's.
struct GapRepair: Sendable {
    /// A failed gap is due again after `retryBase` x 2^(attempts-1), at most `retryCap`.
    static let retryBase = Duration.seconds(5)
    static let retryCap = Duration.seconds(900)

    /// What became of the gap.
    enum Outcome: Sendable, Equatable {
        case filled(minutes: Int)
        /// The venue cannot serve it (no access on the plan, history beyond what it keeps, no REST
        /// history for the source): never retried.
        case unfillable(String)
        /// Worth retrying, after `retryIn`.
        case failed(String, retryIn: Duration)
        /// The lease went to another owner meanwhile: nothing more is written by this one.
        case leaseLost

        /// The gap's status once the outcome is recorded (nil: another owner's, nothing to record).
        var status: GapStatus? {
            switch self {
            case .filled: .filled
            case .unfillable: .unfillable
            case .failed: .failed
            case .leaseLost: nil
            }
        }
    }

    /// What the executor does next.
    enum Action: Sendable, Equatable {
        /// Send this history request (under the source's shared rate limit); report with
        /// ``answered(_:now:)`` or ``fetchFailed(_:)``.
        case fetch(HistoryRequest)
        /// Write the page's candles through the candle store (one transaction), republish the changed
        /// candles and record `emptyMinutes` (ns) as confirmed empty; report with ``written(minutes:)``.
        case write(candles: [HistoryCandle], emptyMinutes: [Int64])
        /// Renew the lease; report with ``leaseExtended(_:now:)``.
        case extendLease
        /// Send a malformed answer to the rejects topic; report with ``quarantined()``.
        case quarantine(HistoryAnswerError, body: [UInt8], request: HistoryRequest)
        /// Record the outcome in the ledger (nothing for `leaseLost`): the repair is over.
        case finish(Outcome)
    }

    private enum Phase: Sendable, Equatable {
        case created
        case fetching(HistoryRequest)
        /// The page's lease ran out while it was fetched: renewing before writing it.
        case confirming(HistoryRequest, candles: [HistoryCandle])
        case writing(HistoryRequest)
        case extending(HistoryRequest)
        case quarantining(HistoryRequest, reason: String)
        case finished(Outcome)

        /// The phase for a reason or a log: its name and the page's redacted URL (the full URL may
        /// carry a token, and a page's candles do not belong in a reason).
        var summary: String {
            switch self {
            case .created: "created"
            case .fetching(let request): "fetching \(request.redactedURL)"
            case .confirming(let request, _): "confirming the lease for \(request.redactedURL)"
            case .writing(let request): "writing \(request.redactedURL)"
            case .extending(let request): "extending the lease after \(request.redactedURL)"
            case .quarantining(let request, _): "quarantining \(request.redactedURL)"
            case .finished: "finished"
            }
        }
    }

    let gap: GapLedger.Gap
    let source: HistorySource?
    let lease: Duration
    private(set) var leaseUntil: ContinuousClock.Instant
    /// 1-minute candles the repair changed so far.
    private(set) var minutesWritten = 0
    private var phase = Phase.created

    /// - Parameters:
    ///   - source: the gap's source, nil when this instance has no REST history for it.
    ///   - claimedAt: the lease clock's reading taken before the claim was sent.
    init(gap: GapLedger.Gap, source: HistorySource?, lease: Duration, claimedAt: ContinuousClock.Instant) {
        self.gap = gap
        self.source = source
        self.lease = lease
        self.leaseUntil = claimedAt + lease
    }

    /// The outcome, once the repair is over.
    var outcome: Outcome? {
        if case .finished(let outcome) = phase { return outcome }
        return nil
    }

    /// How long a gap failed on its `attempts`-th claim waits before it is due again: ``retryBase``
    /// doubled for every attempt after the first, at most ``retryCap``.
    static func retryDelay(attempts: Int) -> Duration {
        let doublings = max(attempts - 1, 0)
        guard doublings < 32 else { return retryCap }
        return min(retryCap, retryBase * (1 << doublings))
    }

    /// The first action: the first page's request, or the end when the gap cannot be repaired here.
    mutating func start() -> Action {
        precondition(phase == .created, "a repair starts once")
        guard let source else {
            return finish(.unfillable("no REST history for source '\(gap.source)'"))
        }
        // A window read from the database is bounded before any arithmetic on it (rows written before the
        // intake checked event times could hold anything).
        guard ContractLimits.isPlausibleEventTime(gap.from), ContractLimits.isPlausibleEventTime(gap.to), gap.from <= gap.to else {
            return finish(.unfillable("invalid_timestamp: window \(gap.from) ... \(gap.to) lies outside 2000-01-01 ... 2100-01-01"))
        }
        return request(firstMinute: gap.from / 60_000_000_000 * 60, source: source)
    }

    /// The answer to the request of ``Action/fetch(_:)``, read at `now` on the lease clock.
    mutating func answered(_ answer: HistoryFetcher.Outcome, now: ContinuousClock.Instant) -> Action {
        guard case .fetching(let request) = phase else { return unexpected("an answer") }
        switch answer {
        case .malformed(let error, let body):
            phase = .quarantining(request, reason: "malformed answer from \(request.redactedURL): \(error)")
            return .quarantine(error, body: body, request: request)
        case .answer(.noAccess(let reason)):
            return finish(.unfillable(reason))
        case .answer(.failed(let reason)):
            return finish(failed(reason))
        case .answer(.candles(let candles)):
            guard now < leaseUntil else {
                phase = .confirming(request, candles: candles)
                return .extendLease
            }
            return write(candles, request: request)
        }
    }

    /// The request of ``Action/fetch(_:)`` could not be sent or answered (connection refused, timeout).
    mutating func fetchFailed(_ error: String) -> Action {
        guard case .fetching = phase else { return unexpected("a transport error") }
        return finish(failed(error))
    }

    /// The malformed answer of ``Action/quarantine(_:body:request:)`` was set aside.
    mutating func quarantined() -> Action {
        guard case .quarantining(_, let reason) = phase else { return unexpected("a quarantine") }
        return finish(failed(reason))
    }

    /// The page of ``Action/write(candles:emptyMinutes:)`` is written: `minutes` 1-minute candles changed.
    mutating func written(minutes: Int) -> Action {
        guard case .writing(let request) = phase else { return unexpected("a write") }
        minutesWritten += minutes
        phase = .extending(request)
        return .extendLease
    }

    /// The renewal of ``Action/extendLease``: `held` when this owner still has the gap; `now` is the
    /// lease clock's reading taken before the renewal was sent.
    mutating func leaseExtended(_ held: Bool, now: ContinuousClock.Instant) -> Action {
        let page: HistoryRequest
        var pending: [HistoryCandle]?
        switch phase {
        case .extending(let request): page = request
        case .confirming(let request, let candles): page = request; pending = candles
        default: return unexpected("a lease renewal")
        }
        guard held else { return finish(.leaseLost) }
        leaseUntil = now + lease
        if let pending { return write(pending, request: page) }
        guard let source else { return unexpected("a lease renewal") }
        let next = page.last + 60
        guard next <= lastMinute else { return finish(.filled(minutes: minutesWritten)) }
        return request(firstMinute: next, source: source)
    }

    /// The repair stopped on an error of its own (the database refusing a write, for instance): the gap
    /// is retried later, like a failed answer.
    mutating func interrupted(by error: String) -> Action {
        if case .finished = phase { return unexpected("an error") }
        return finish(failed(error))
    }

    // MARK: - Steps

    /// The last minute to repair (seconds since the epoch).
    private var lastMinute: Int64 { gap.to / 60_000_000_000 * 60 }

    /// The page starting at `firstMinute` (seconds), at most the history's maximum minutes long.
    private mutating func request(firstMinute: Int64, source: HistorySource) -> Action {
        let step = max(1, source.history.maxMinutesPerRequest) * 60
        let pageLast = min(lastMinute, firstMinute + step - 60)
        let venueSymbol = gap.venueSymbol ?? source.history.venueSymbol(forCanonical: gap.symbol)
        do {
            let request = try source.history.historyRequest(base: source.restURL, venueSymbol: venueSymbol, first: firstMinute,
                                                            last: pageLast, credential: source.credential)
            // The page is what was asked for, whatever the plug-in echoes back.
            let page = HistoryRequest(url: request.url, redactedURL: request.redactedURL, first: firstMinute, last: pageLast)
            phase = .fetching(page)
            return .fetch(request)
        } catch {
            return finish(failed("\(error)"))
        }
    }

    private mutating func write(_ candles: [HistoryCandle], request: HistoryRequest) -> Action {
        let present = Set(candles.map { $0.start / 1_000_000_000 })
        let empty = stride(from: request.first, through: request.last, by: 60).filter { !present.contains($0) }
        phase = .writing(request)
        return .write(candles: candles, emptyMinutes: empty.map { $0 * 1_000_000_000 })
    }

    private func failed(_ reason: String) -> Outcome {
        .failed(reason, retryIn: Self.retryDelay(attempts: gap.attempts))
    }

    private mutating func finish(_ outcome: Outcome) -> Action {
        phase = .finished(outcome)
        return .finish(outcome)
    }

    /// A report that does not fit the phase (a bug in the executor): the repair ends failed, never
    /// writes on a wrong assumption.
    private mutating func unexpected(_ report: String) -> Action {
        if case .finished(let outcome) = phase { return .finish(outcome) }
        return finish(failed("internal: \(report) was not expected while \(phase.summary)"))
    }
}
