import FXVenues
import FXCore
@testable import FXIngest
import Testing

/// What the ingestor lets through: every provider's output is checked against the contract's limits
/// before it is published, and the feed tracker's arithmetic never traps on what a venue sends.
@Suite("Ingest contract limits: hostile frames become rejects, never crashes")
struct IngestContractTests {
    /// 2026-11-28T00:00:00Z.
    static let now: Int64 = 1_795_910_400 * 1_000_000_000
    static let subscribed: Set<String> = ["BINANCE:BTCUSDT", "BTC-USD"]

    func checked(_ events: [NormalizedEvent]) -> [NormalizedEvent] {
        events.map { $0.checkedAgainstContract(now: Self.now, isSubscribed: { Self.subscribed.contains($0) }) }
    }

    func reasons(_ events: [NormalizedEvent]) -> [String] {
        checked(events).map { event in
            if case .reject(let reason, _) = event { return reason.rawValue }
            return "accepted"
        }
    }

    func finnhub(_ t: String, symbol: String = "BINANCE:BTCUSDT", price: String = "64000.5") -> [NormalizedEvent] {
        FinnhubNormalizer().normalize(Array(#"{"type":"trade","data":[{"s":"\#(symbol)","p":\#(price),"t":\#(t),"v":0.5}]}"#.utf8),
                                      receivedAt: Self.now)
    }

    func coinbase(time: String, sequence: String = "1", tradeID: String = "7", product: String = "BTC-USD") -> [NormalizedEvent] {
        CoinbaseNormalizer().normalize(Array(#"{"type":"match","trade_id":\#(tradeID),"sequence":\#(sequence),"product_id":"\#(product)","price":"64000.5","size":"0.1","side":"sell","time":"\#(time)"}"#.utf8),
                                       receivedAt: Self.now)
    }

    @Test("a Finnhub trade whose 't' lands near Int64's end (9223372036854 ms) is rejected as invalid_timestamp")
    func finnhubFarFuture() {
        #expect(reasons(finnhub("9223372036854")) == ["invalid_timestamp"])
        #expect(reasons(finnhub("9223372036854775807")) == ["invalid_timestamp"])
        #expect(reasons(finnhub("-1")) == ["invalid_timestamp"])
    }

    @Test("event times: 2000-01-01 up to a day past the ingestor's clock")
    func window() {
        let minute: Int64 = 60_000
        #expect(reasons(finnhub(String(Self.now / 1_000_000))) == ["accepted"])
        #expect(reasons(finnhub(String(Self.now / 1_000_000 + 1_440 * minute - 1))) == ["accepted"])
        #expect(reasons(finnhub(String(Self.now / 1_000_000 + 1_440 * minute + 1))) == ["invalid_timestamp"])
        #expect(reasons(finnhub("946684799999")) == ["invalid_timestamp"])
        #expect(reasons(finnhub("946684800000")) == ["accepted"])
    }

    @Test("a Coinbase time before 1733 (or any before 2000) is rejected, not turned into a negative time")
    func coinbaseAncient() {
        #expect(reasons(coinbase(time: "1700-01-01T00:00:00Z")) == ["invalid_timestamp"])
        #expect(reasons(coinbase(time: "1999-12-31T23:59:59.999Z")) == ["invalid_timestamp"])
        #expect(reasons(coinbase(time: "2026-11-27T23:59:59.5Z")) == ["accepted"])
    }

    @Test("sequences outside 0 ... 2^62 are rejected as invalid_sequence")
    func sequences() {
        #expect(reasons(coinbase(time: "2026-11-27T23:59:59Z", sequence: "9223372036854775807")) == ["invalid_sequence"])
        #expect(reasons(coinbase(time: "2026-11-27T23:59:59Z", sequence: "-5")) == ["invalid_sequence"])
    }

    @Test("a tick for a product this connection never subscribed to is rejected, not published")
    func unsubscribed() {
        #expect(reasons(coinbase(time: "2026-11-27T23:59:59Z", product: "ETH-USD")) == ["unsubscribed_symbol"])
        #expect(reasons(finnhub(String(Self.now / 1_000_000), symbol: "BINANCE:ETHUSDT")) == ["unsubscribed_symbol"])
    }

    @Test("a price of 17,000 digits is rejected as invalid_decimal")
    func hugePrice() {
        #expect(reasons(finnhub(String(Self.now / 1_000_000), price: String(repeating: "7", count: 17_000))) == ["invalid_decimal"])
    }

    @Test("heartbeats with out-of-range sequences or trade ids are rejected; an unsubscribed one is only control traffic")
    func heartbeats() {
        #expect(reasons([.heartbeat(venueSymbol: "BTC-USD", sequence: .max, lastTradeID: nil, timestamp: nil)]) == ["invalid_sequence"])
        #expect(reasons([.heartbeat(venueSymbol: "BTC-USD", sequence: 1, lastTradeID: "9223372036854775807", timestamp: nil)]) == ["invalid_sequence"])
        #expect(reasons([.heartbeat(venueSymbol: "BTC-USD", sequence: 1, lastTradeID: "12", timestamp: .min)]) == ["invalid_timestamp"])
        #expect(reasons([.heartbeat(venueSymbol: "BTC-USD", sequence: 1, lastTradeID: "12", timestamp: Self.now)]) == ["accepted"])
        #expect(checked([.heartbeat(venueSymbol: "DOGE-USD", sequence: 1, lastTradeID: nil, timestamp: nil)])
                == [.control("heartbeat for an unsubscribed product")])
    }
}

@Suite("Feed tracker: Int64 extremes and wall-clock steps")
struct FeedTrackerHardeningTests {
    static let start: Int64 = 1_795_208_400 * 1_000_000_000
    static let second: Int64 = 1_000_000_000

    func tracker(sequence: FeedTracker.SequenceCheck) -> FeedTracker {
        var t = FeedTracker(source: "sim", connectionID: "sim-0", instance: "test",
                            settings: .init(connectionStaleAfter: .seconds(30), symbolStaleAfter: .seconds(60), sequenceCheck: sequence),
                            symbols: [(venue: "EUR-USD", symbol: "EUR/USD", hours: .continuous)], now: Self.start, monotonic: 0)
        t.connected(now: Self.start, monotonic: 0)
        t.subscribed(now: Self.start, monotonic: 0, acknowledged: true)
        return t
    }

    @Test("sequence and trade-id jumps between Int64's extremes report a gap without trapping")
    func extremes() {
        var t = tracker(sequence: .contiguous)
        _ = t.observe(venueSymbol: "EUR-USD", eventTs: Self.start, sequence: .min + 1, now: Self.start)
        let gaps = t.observe(venueSymbol: "EUR-USD", eventTs: Self.start + Self.second, sequence: .max, now: Self.start + Self.second)
        #expect(gaps.map(\.reason) == [.sequence])
        var ids = tracker(sequence: .tradeID)
        _ = ids.observe(venueSymbol: "EUR-USD", eventTs: Self.start, sequence: nil, tradeID: .min + 1, now: Self.start)
        #expect(ids.observe(venueSymbol: "EUR-USD", eventTs: Self.start, sequence: nil, tradeID: .max, now: Self.start).map(\.reason) == [.sequence])
        #expect(ids.observe(venueSymbol: "EUR-USD", eventTs: Self.start, sequence: nil, lastTradeID: .max, now: Self.start).isEmpty)
    }

    @Test("the wall clock jumping an hour ahead under a live feed asks for no reconnect: silence is measured monotonically")
    func wallClockJumpsAhead() {
        var t = tracker(sequence: .off)
        for tick in 1...5 {
            let monotonic = Int64(tick) * Self.second
            let wall = Self.start + monotonic + (tick >= 3 ? 3_600 * Self.second : 0)   // a step of one hour at tick 3
            t.frameReceived(now: wall, monotonic: monotonic)
            _ = t.observe(venueSymbol: "EUR-USD", eventTs: wall, sequence: nil, now: wall, monotonic: monotonic)
            #expect(t.watchdog(now: wall, monotonic: monotonic) == nil)
        }
        #expect(t.staleSymbols == 0)
    }

    @Test("a dead feed is found even when the wall clock steps back: 31 s of monotonic silence drop the connection")
    func wallClockStepsBack() {
        var t = tracker(sequence: .off)
        t.frameReceived(now: Self.start + Self.second, monotonic: Self.second)
        let wall = Self.start - 3_600 * Self.second   // an hour behind the last frame
        #expect(t.watchdog(now: wall, monotonic: 32 * Self.second) != nil)
        #expect(t.staleSymbols == 1)
    }
}
