import FXContracts
import FXCore
import FXVenues
import Testing

@Suite("Kraken v2: reading the venue's messages")
struct KrakenNormalizerTests {
    let normalizer = KrakenNormalizer()
    let now: Int64 = 1_796_036_400_000_000_000

    func read(_ text: String) -> [NormalizedEvent] { normalizer.normalize(Array(text.utf8), receivedAt: now) }

    @Test("a trade is a tick with the taker's side, exact decimals and the trade id")
    func trade() throws {
        let events = read(#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":63348.40,"qty":9.417e-05,"ord_type":"limit","trade_id":104622323,"timestamp":"2026-12-04T10:00:00.123456Z"}]}"#)
        guard case .tick(let tick) = try #require(events.first) else { Issue.record("\(events)"); return }
        #expect(tick.symbol == "BTC/USD" && tick.venueSymbol == "BTC/USD" && tick.source == "kraken")
        #expect(tick.payload == .trade(price: DecimalText("63348.40")!, size: DecimalText("0.00009417")!, side: .sell, tradeID: "104622323"))
        #expect(tick.timestamp == Timestamps.nanoseconds(rfc3339: "2026-12-04T10:00:00.123456Z"))
    }

    @Test("a ticker is a quote; without a timestamp the receive time stands")
    func ticker() throws {
        let events = read(#"{"channel":"ticker","type":"update","data":[{"symbol":"ETH/USD","bid":3000.1,"bid_qty":2.5,"ask":3000.2,"ask_qty":1.0,"last":3000.15}]}"#)
        guard case .tick(let tick) = try #require(events.first) else { Issue.record("\(events)"); return }
        #expect(tick.payload == .quote(bid: DecimalText("3000.1"), ask: DecimalText("3000.2"), bidSize: DecimalText("2.5"), askSize: DecimalText("1.0")))
        #expect(tick.timestamp == now)
    }

    @Test("a book message keeps each price and quantity text exactly as sent (trailing zeros), with its checksum")
    func book() throws {
        let events = read(#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":45285.20,"qty":0.00100000}],"asks":[{"price":45285.3,"qty":1.5e-3}],"checksum":974947235,"timestamp":"2026-12-04T10:00:00Z"}]}"#)
        guard case .book(let update) = try #require(events.first) else { Issue.record("\(events)"); return }
        #expect(update.kind == .snapshot && update.venueSymbol == "BTC/USD")
        #expect(update.bids == [BookLevel(price: "45285.20", quantity: "0.00100000")])
        #expect(update.asks == [BookLevel(price: "45285.3", quantity: "0.0015")], "an exponent is written out in full")
        #expect(update.checksum?.kind == .krakenCRC32 && update.checksum?.value == 974_947_235)
        let delta = read(#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[{"price":45285.3,"qty":0}],"checksum":1,"timestamp":"2026-12-04T10:00:00.1Z"}]}"#)
        guard case .book(let update) = try #require(delta.first) else { Issue.record("\(delta)"); return }
        #expect(update.kind == .update && update.asks == [BookLevel(price: "45285.3", quantity: "0")])
    }

    @Test("protocol traffic is control; a refused subscription is a provider error with Kraken's text; junk is a reject")
    func control() {
        #expect(read(#"{"channel":"heartbeat"}"#) == [.control("heartbeat")])
        #expect(read(#"{"method":"subscribe","result":{"channel":"book","symbol":"BTC/USD","depth":10},"success":true}"#) == [.control("subscriptions")])
        #expect(read(#"{"method":"subscribe","error":"Currency pair not supported FOO/BAR","success":false,"symbol":"FOO/BAR"}"#)
            == [.providerError("subscribe: Currency pair not supported FOO/BAR")])
        for junk in [#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":"x"}],"asks":[],"checksum":1}]}"#,
                     #"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[],"checksum":-1}]}"#,
                     #"{"channel":"trade","type":"update","data":[{"symbol":"BTCUSD","price":1,"qty":1,"trade_id":1,"timestamp":"2026-12-04T10:00:00Z"}]}"#,
                     #"{"channel":"surprise"}"#, #"{"channel":"#] {
            let events = read(junk)
            #expect(events.count == 1 && { if case .reject = events[0] { true } else { false } }(), "\(junk) -> \(events)")
        }
    }

    @Test("subscribing asks for trades, the ticker and the book at the configured depth; a resync touches one pair's book only")
    func subscriptions() throws {
        let provider = KrakenProvider(bookDepth: 25)
        let messages = try provider.subscribeMessages(symbols: ["BTC/USD", "ETH/USD"], credential: nil, now: now)
        #expect(messages.count == 3)
        #expect(messages[2] == #"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","ETH/USD"],"depth":25,"snapshot":true}}"#)
        #expect(provider.bookResubscribeMessages(venueSymbol: "ETH/USD") == [
            #"{"method":"unsubscribe","params":{"channel":"book","symbol":["ETH/USD"],"depth":25}}"#,
            #"{"method":"subscribe","params":{"channel":"book","symbol":["ETH/USD"],"depth":25,"snapshot":true}}"#])
        #expect(KrakenProvider(bookDepth: 7).bookDepth == 10, "only Kraken's depths")
    }
}

@Suite("Kraken: OHLC history (the last 720 minutes)")
struct KrakenHistoryTests {
    let provider = KrakenProvider()

    @Test("rows [time, open, high, low, close, vwap, volume, count] become exact candles; minutes without trades are none; BTC is XBT on REST")
    func ohlc() throws {
        let request = try provider.historyRequest(base: "https://api.kraken.com", venueSymbol: "BTC/USD", first: 1_796_036_400, last: 1_796_036_460, credential: nil)
        #expect(request.url == "https://api.kraken.com/0/public/OHLC?pair=XBTUSD&interval=1&since=1796036399")
        let body = #"{"error":[],"result":{"XXBTZUSD":[[1796036400,"50000.10","50010.00","49990.00","50005.50","50001.0","1.25000000",12],[1796036460,"50005.50","50005.50","50005.50","50005.50","0","0.00000000",0]],"last":1796036460}}"#
        guard case .candles(let candles) = try provider.readHistory(Array(body.utf8), request: request) else { Issue.record("no candles"); return }
        #expect(candles.count == 1 && candles.first?.open == DecimalText("50000.10") && candles.first?.volume == DecimalText("1.25000000"))
    }

    @Test("a window older than Kraken's 720 minutes is unfillable with that reason, never repaired with holes; errors are read")
    func beyondRetention() throws {
        let request = try provider.historyRequest(base: "x", venueSymbol: "ETH/USD", first: 1_795_980_000, last: 1_795_980_060, credential: nil)
        let body = #"{"error":[],"result":{"XETHZUSD":[[1796036400,"1","1","1","1","1","1",1]],"last":1796036400}}"#
        guard case .noAccess(let reason) = try provider.readHistory(Array(body.utf8), request: request) else { Issue.record("repaired"); return }
        #expect(reason.contains("only the last 720 minutes"))
        // Kraken's 720 rows end with the minute in progress after `last`: the oldest is `last` - 718 minutes.
        let last: Int64 = 1_796_036_400
        let edge = #"{"error":[],"result":{"XETHZUSD":[],"last":1796036400}}"#
        let oldest = try provider.historyRequest(base: "x", venueSymbol: "ETH/USD", first: last - 718 * 60, last: last - 718 * 60, credential: nil)
        #expect(try provider.readHistory(Array(edge.utf8), request: oldest) == .candles([]))
        let older = try provider.historyRequest(base: "x", venueSymbol: "ETH/USD", first: last - 719 * 60, last: last - 719 * 60, credential: nil)
        guard case .noAccess = try provider.readHistory(Array(edge.utf8), request: older) else { Issue.record("a minute beyond the 720 repaired"); return }
        #expect(try provider.readHistory(Array(#"{"error":["EQuery:Unknown asset pair"]}"#.utf8), request: request) == .noAccess("Kraken: EQuery:Unknown asset pair"))
        #expect(try provider.readHistory(Array(#"{"error":["EService:Unavailable"]}"#.utf8), request: request) == .failed("Kraken: EService:Unavailable"))
        #expect(throws: HistoryAnswerError.self) { try provider.readHistory(Array(#"{"error":[],"result":{"X":[["a"]]}}"#.utf8), request: request) }
    }
}
