import FXContracts
@testable import FXBackfill
import FXCore
import FXVenues
import Testing

/// One claimed gap's repair as a value type (``GapRepair``): what it asks for, what each answer means,
/// when the lease is renewed and how the gap ends. No database, no network, no clock but the readings
/// given to it.
@Suite("Backfiller: one gap's repair, decided")
struct GapRepairStateTests {
    static let minute: Int64 = 60_000_000_000
    /// 2026-01-01T00:00:00Z, in seconds.
    static let t0: Int64 = 1_767_225_600
    static let lease = Duration.seconds(120)
    static let claimedAt = ContinuousClock.now

    /// A venue whose history serves three minutes per request.
    struct ThreeMinuteHistory: MarketHistory {
        var maxMinutesPerRequest: Int64 { 3 }
        var defaultRateLimit: String { "10/s" }
        func venueSymbol(forCanonical symbol: String) -> String { symbol.replacingOccurrences(of: "/", with: "-") }
        func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                            credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
            guard venueSymbol != "REFUSED" else { throw ProviderError(.invalidSymbol, provider: "three", "no such symbol") }
            let url = "\(base)/\(venueSymbol)?from=\(first)&to=\(last)"
            return HistoryRequest(url: url + "&token=secret", redactedURL: url + "&token=REDACTED", first: first, last: last)
        }
        func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer { .candles([]) }
    }

    static let source = HistorySource(id: "three", history: ThreeMinuteHistory(), restURL: "http://venue", rateLimit: RateLimit(perSecond: 10),
                                      credential: nil)

    /// A claimed gap of `three` from `first` through `last` (minutes after t0, both inclusive, each
    /// bound 10 s into its minute), on its `attempts`-th claim.
    static func gap(minutes first: Int64, _ last: Int64, attempts: Int = 1, venueSymbol: String? = "BTC-USD") -> GapLedger.Gap {
        GapLedger.Gap(id: 7, source: "three", symbol: "BTC/USD", from: (t0 + first * 60) * 1_000_000_000 + 10_000_000_000,
                      to: (t0 + last * 60) * 1_000_000_000 + 10_000_000_000, reasons: ["disconnect"], status: .filling,
                      attempts: attempts, lastError: nil, venueSymbol: venueSymbol)
    }

    static func repair(_ gap: GapLedger.Gap, source: HistorySource? = source) -> GapRepair {
        GapRepair(gap: gap, source: source, lease: lease, claimedAt: claimedAt)
    }

    /// The request for minutes `first` ... `last` after t0.
    static func request(_ first: Int64, _ last: Int64, symbol: String = "BTC-USD") -> HistoryRequest {
        let url = "http://venue/\(symbol)?from=\(t0 + first * 60)&to=\(t0 + last * 60)"
        return HistoryRequest(url: url + "&token=secret", redactedURL: url + "&token=REDACTED", first: t0 + first * 60, last: t0 + last * 60)
    }

    /// The REST candle of minute `index` after t0.
    static func candle(_ index: Int64) -> HistoryCandle {
        HistoryCandle(start: (t0 + index * 60) * 1_000_000_000, open: DecimalText("1.5")!, high: DecimalText("2")!, low: DecimalText("1")!,
                      close: DecimalText("1.75")!, volume: DecimalText("3")!)
    }

    static func ns(_ index: Int64) -> Int64 { (t0 + index * 60) * 1_000_000_000 }

    /// A moment on the lease clock, `seconds` after the claim.
    static func at(_ seconds: Int64) -> ContinuousClock.Instant { claimedAt + .seconds(seconds) }

    @Test("a gap within one page: its minutes are fetched, written (the minutes without a candle confirmed empty), the lease renewed, and the gap filled with the minutes written")
    func onePage() {
        var repair = Self.repair(Self.gap(minutes: 0, 2))
        #expect(repair.start() == .fetch(Self.request(0, 2)))
        #expect(repair.answered(.answer(.candles([Self.candle(0), Self.candle(2)])), now: Self.at(1))
                == .write(candles: [Self.candle(0), Self.candle(2)], emptyMinutes: [Self.ns(1)]))
        #expect(repair.written(minutes: 2) == .extendLease)
        #expect(repair.leaseExtended(true, now: Self.at(2)) == .finish(.filled(minutes: 2)))
        #expect(repair.outcome == .filled(minutes: 2))
        #expect(repair.outcome?.status == .filled)
    }

    @Test("a gap longer than a page is asked page by page, oldest first, each at most the history's maximum, the lease renewed after every page")
    func pages() {
        var repair = Self.repair(Self.gap(minutes: 0, 7))
        var asked: [HistoryRequest] = []
        var action = repair.start()
        var now: Int64 = 0
        while case .fetch(let request) = action {
            asked.append(request)
            now += 1
            #expect(repair.answered(.answer(.candles([])), now: Self.at(now)) == .write(candles: [], emptyMinutes:
                Array(stride(from: request.first, through: request.last, by: 60)).map { $0 * 1_000_000_000 }))
            #expect(repair.written(minutes: 1) == .extendLease)
            action = repair.leaseExtended(true, now: Self.at(now))
        }
        #expect(asked == [Self.request(0, 2), Self.request(3, 5), Self.request(6, 7)])
        #expect(action == .finish(.filled(minutes: 3)))
    }

    @Test("the venue symbol is the gap events' own, else the history's for the canonical symbol")
    func venueSymbol() {
        var derived = Self.repair(Self.gap(minutes: 0, 0, venueSymbol: nil))
        #expect(derived.start() == .fetch(Self.request(0, 0, symbol: "BTC-USD")))
        var given = Self.repair(Self.gap(minutes: 0, 0, venueSymbol: "XBT-USD"))
        #expect(given.start() == .fetch(Self.request(0, 0, symbol: "XBT-USD")))
    }

    @Test("a source without REST history here, or a window outside 2000-01-01 ... 2100-01-01, is unfillable at once: nothing is fetched")
    func unfillableAtOnce() {
        var noSource = Self.repair(Self.gap(minutes: 0, 2), source: nil)
        #expect(noSource.start() == .finish(.unfillable("no REST history for source 'three'")))
        var window = Self.gap(minutes: 0, 2)
        window.to = Int64.max
        var absurd = Self.repair(window)
        #expect(absurd.start() == .finish(.unfillable("invalid_timestamp: window \(window.from) ... \(Int64.max) lies outside 2000-01-01 ... 2100-01-01")))
        var reversed = Self.gap(minutes: 0, 2)
        reversed.from = reversed.to + 1
        var backwards = Self.repair(reversed)
        guard case .finish(.unfillable) = backwards.start() else { Issue.record("a window ending before it starts is unfillable"); return }
    }

    @Test("the venue refusing this history makes the gap unfillable (never retried)")
    func noAccess() {
        var repair = Self.repair(Self.gap(minutes: 0, 2))
        _ = repair.start()
        #expect(repair.answered(.answer(.noAccess("HTTP 403: You don't have access to this resource")), now: Self.at(1))
                == .finish(.unfillable("HTTP 403: You don't have access to this resource")))
        #expect(repair.outcome?.status == .unfillable)
    }

    @Test("a failed answer, a transport error or a request that cannot be built fails the gap, due again after backoff",
          arguments: [1, 2, 3])
    func failures(attempts: Int) {
        let retryIn = GapRepair.retryDelay(attempts: attempts)
        var answered = Self.repair(Self.gap(minutes: 0, 2, attempts: attempts))
        _ = answered.start()
        #expect(answered.answered(.answer(.failed("HTTP 502")), now: Self.at(1)) == .finish(.failed("HTTP 502", retryIn: retryIn)))
        var transport = Self.repair(Self.gap(minutes: 0, 2, attempts: attempts))
        _ = transport.start()
        #expect(transport.fetchFailed("connection refused (http://venue/BTC-USD)") == .finish(.failed("connection refused (http://venue/BTC-USD)", retryIn: retryIn)))
        var unbuildable = Self.repair(Self.gap(minutes: 0, 2, attempts: attempts, venueSymbol: "REFUSED"))
        #expect(unbuildable.start() == .finish(.failed("three: invalid_symbol: no such symbol", retryIn: retryIn)))
        #expect(unbuildable.outcome?.status == .failed)
    }

    @Test("a failed gap waits 5 s after its first attempt, twice as long after each further one, at most 15 minutes")
    func backoff() {
        #expect([1, 2, 3, 4, 8, 9, 10, 64, 1_000_000].map(GapRepair.retryDelay(attempts:))
                == [.seconds(5), .seconds(10), .seconds(20), .seconds(40), .seconds(640), .seconds(900), .seconds(900), .seconds(900), .seconds(900)])
        #expect(GapRepair.retryDelay(attempts: 0) == .seconds(5))
    }

    @Test("a malformed answer is quarantined, then the gap fails naming the (redacted) request; nothing of it is written")
    func malformed() {
        var repair = Self.repair(Self.gap(minutes: 0, 2))
        _ = repair.start()
        let error = HistoryAnswerError("malformed_history", "low above high")
        #expect(repair.answered(.malformed(error, body: Array("[[1,2]]".utf8)), now: Self.at(1))
                == .quarantine(error, body: Array("[[1,2]]".utf8), request: Self.request(0, 2)))
        #expect(repair.quarantined() == .finish(.failed("malformed answer from \(Self.request(0, 2).redactedURL): malformed_history: low above high",
                                                        retryIn: .seconds(5))))
    }

    @Test("a renewal refused means another owner has the gap: the repair ends with the lease lost, nothing more is fetched or recorded")
    func leaseLost() {
        var repair = Self.repair(Self.gap(minutes: 0, 7))
        _ = repair.start()
        _ = repair.answered(.answer(.candles([Self.candle(0)])), now: Self.at(1))
        #expect(repair.written(minutes: 1) == .extendLease)
        #expect(repair.leaseExtended(false, now: Self.at(2)) == .finish(.leaseLost))
        #expect(repair.outcome == .leaseLost)
        #expect(repair.outcome?.status == nil)
    }

    @Test("an answer that arrives after the lease ran out on the lease clock is written only once the lease is renewed; a refused renewal writes nothing")
    func answerAfterTheLease() {
        // The lease runs 120 s from the claim; the answer comes at 121 s (a long Retry-After, say).
        var renewed = Self.repair(Self.gap(minutes: 0, 2))
        _ = renewed.start()
        #expect(renewed.answered(.answer(.candles([Self.candle(0)])), now: Self.at(121)) == .extendLease)
        #expect(renewed.leaseExtended(true, now: Self.at(121)) == .write(candles: [Self.candle(0)], emptyMinutes: [Self.ns(1), Self.ns(2)]))
        #expect(renewed.written(minutes: 1) == .extendLease)
        #expect(renewed.leaseExtended(true, now: Self.at(122)) == .finish(.filled(minutes: 1)))

        var taken = Self.repair(Self.gap(minutes: 0, 2))
        _ = taken.start()
        #expect(taken.answered(.answer(.candles([Self.candle(0)])), now: Self.at(121)) == .extendLease)
        #expect(taken.leaseExtended(false, now: Self.at(121)) == .finish(.leaseLost))
    }

    @Test("the lease counts from its last renewal: a page answered within it is written at once")
    func leaseRenewalMovesTheDeadline() {
        var repair = Self.repair(Self.gap(minutes: 0, 5))
        _ = repair.start()
        _ = repair.answered(.answer(.candles([])), now: Self.at(100))
        _ = repair.written(minutes: 0)
        #expect(repair.leaseExtended(true, now: Self.at(100)) == .fetch(Self.request(3, 5)))
        #expect(repair.leaseUntil == Self.at(220))
        // 200 s after the claim, 100 s after the renewal: within the lease.
        #expect(repair.answered(.answer(.candles([])), now: Self.at(200)) == .write(candles: [], emptyMinutes: [Self.ns(3), Self.ns(4), Self.ns(5)]))
    }

    @Test("an error of the repair's own (the database refusing a write) fails the gap with backoff; a report after the end changes nothing")
    func interrupted() {
        var repair = Self.repair(Self.gap(minutes: 0, 2, attempts: 2))
        _ = repair.start()
        _ = repair.answered(.answer(.candles([Self.candle(0)])), now: Self.at(1))
        #expect(repair.interrupted(by: "deadlock detected") == .finish(.failed("deadlock detected", retryIn: .seconds(10))))
        #expect(repair.written(minutes: 1) == .finish(.failed("deadlock detected", retryIn: .seconds(10))))
        #expect(repair.outcome == .failed("deadlock detected", retryIn: .seconds(10)))
    }

    @Test("a report that does not fit (an answer nobody asked for) fails the gap instead of writing on a wrong assumption, naming the page only by its redacted URL")
    func unexpectedReport() {
        var repair = Self.repair(Self.gap(minutes: 0, 2))
        _ = repair.start()
        guard case .finish(.failed(let reason, _)) = repair.written(minutes: 3) else { Issue.record("not failed"); return }
        #expect(reason.hasPrefix("internal: a write was not expected"))
        #expect(reason.contains("token=REDACTED") && !reason.contains("secret"), "the reason is stored and logged: \(reason)")
    }

    @Test("an idle worker waits until the next gap is due, at most poll_interval, at least 10 ms")
    func idleWait() {
        let poll = Duration.seconds(30)
        #expect(GapRepairService.idleWait(nextDueIn: nil, pollInterval: poll) == .seconds(30))
        #expect(GapRepairService.idleWait(nextDueIn: .seconds(4), pollInterval: poll) == .seconds(4))
        #expect(GapRepairService.idleWait(nextDueIn: .seconds(3_600), pollInterval: poll) == .seconds(30))
        #expect(GapRepairService.idleWait(nextDueIn: .zero, pollInterval: poll) == .milliseconds(10))
        #expect(GapRepairService.idleWait(nextDueIn: .seconds(-5), pollInterval: poll) == .milliseconds(10))
    }

    @Test("the lease written to the ledger is the lease the repair counts, to the microsecond (not its whole seconds)")
    func leaseInLedger() {
        #expect(GapLedger.seconds(.seconds(120)) == "120.000000")
        #expect(GapLedger.seconds(.milliseconds(1_500)) == "1.500000")
        #expect(GapLedger.seconds(.microseconds(2_000_007)) == "2.000007")
        #expect(GapLedger.seconds(.zero) == "0.000000")
    }
}
