import FXContracts
import FXCore
import FXVenues
import Testing

@Suite("Binance spot: reading the venue's stream events and depth snapshots")
struct BinanceNormalizerTests {
    let normalizer = BinanceNormalizer()
    let now: Int64 = 1_796_036_400_000_000_000

    func read(_ text: String) -> [NormalizedEvent] { normalizer.normalize(Array(text.utf8), receivedAt: now) }

    @Test("a trade (combined stream) is a tick: taker side from 'm', exact decimals, trade id, trade time in ms")
    func trade() throws {
        let events = read(#"{"stream":"bnbbtc@trade","data":{"e":"trade","E":1796036399001,"s":"BNBBTC","t":12345,"p":"0.00100000","q":"100.00","T":1796036399000,"m":true,"M":true}}"#)
        guard case .tick(let tick) = try #require(events.first) else { Issue.record("\(events)"); return }
        #expect(tick.source == "binance" && tick.symbol == "BNB/BTC" && tick.venueSymbol == "BNBBTC")
        #expect(tick.payload == .trade(price: DecimalText("0.00100000")!, size: DecimalText("100.00")!, side: .sell, tradeID: "12345"),
                "the buyer was the maker: the taker sold")
        #expect(tick.timestamp == 1_796_036_399_000_000_000)
        let raw = read(#"{"e":"trade","E":1,"s":"BTCUSDT","t":7,"p":"50000.01","q":"0.5","T":1796036399000,"m":false}"#)
        guard case .tick(let buy) = try #require(raw.first), case .trade(_, _, let side, _) = buy.payload else { Issue.record("\(raw)"); return }
        #expect(side == .buy, "a raw stream's event reads the same")
    }

    @Test("bookTicker is a quote at the receive time; an empty side (price 0) is no quote")
    func bookTicker() throws {
        let events = read(#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#)
        guard case .tick(let tick) = try #require(events.first) else { Issue.record("\(events)"); return }
        #expect(tick.payload == .quote(bid: DecimalText("25.35190000"), ask: DecimalText("25.36520000"), bidSize: DecimalText("31.21000000"), askSize: DecimalText("40.66000000")))
        #expect(tick.timestamp == now)
        let oneSided = read(#"{"u":1,"s":"BNBUSDT","b":"0.00000000","B":"0.00000000","a":"25.3652","A":"1"}"#)
        guard case .tick(let half) = try #require(oneSided.first) else { Issue.record("\(oneSided)"); return }
        #expect(half.payload == .quote(bid: nil, ask: DecimalText("25.3652"), bidSize: nil, askSize: DecimalText("1")))
    }

    @Test("depthUpdate is a book update with U and u, levels as sent (a zero quantity deletes)")
    func depthUpdate() throws {
        let events = read(#"{"stream":"bnbbtc@depth@100ms","data":{"e":"depthUpdate","E":1796036399123,"s":"BNBBTC","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","0.00000000"]]}}"#)
        guard case .book(let update) = try #require(events.first) else { Issue.record("\(events)"); return }
        #expect(update.kind == .update && update.venueSymbol == "BNBBTC" && update.firstUpdateID == 157 && update.lastUpdateID == 160)
        #expect(update.bids == [BookLevel(price: "0.0024", quantity: "10")] && update.asks == [BookLevel(price: "0.0026", quantity: "0.00000000")])
        #expect(update.timestamp == 1_796_036_399_123_000_000)
        let backwards = read(#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":160,"u":157,"b":[],"a":[]}"#)
        guard case .reject(let reason, _) = try #require(backwards.first) else { Issue.record("\(backwards)"); return }
        #expect(reason == .invalidSequence)
        let bad = read(#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":1,"u":2,"b":[["0.0024"]],"a":[]}"#)
        guard case .reject(.invalidPrice, _) = try #require(bad.first) else { Issue.record("\(bad)"); return }
    }

    @Test("acknowledgements, errors (both shapes), serverShutdown and unknown events")
    func control() throws {
        #expect(read(#"{"result":null,"id":1}"#) == [.control("subscriptions")])
        #expect(read(#"{"error":{"code":2,"msg":"Invalid request: unknown variant `SUB`"},"id":1}"#) == [.providerError("code 2: Invalid request: unknown variant `SUB`")])
        #expect(read(#"{"code":3,"msg":"Invalid JSON"}"#) == [.providerError("code 3: Invalid JSON")])
        guard case .reconnect = try #require(read(#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}"#).first) else { Issue.record("no reconnect"); return }
        guard case .reject(.unknownType, _) = try #require(read(#"{"e":"kline","E":1,"s":"BTCUSDT"}"#).first) else { Issue.record("kline accepted"); return }
        guard case .reject(.unmappedSymbol, _) = try #require(read(#"{"e":"trade","E":1,"s":"XYZ","t":1,"p":"1","q":"1","T":1796036399000,"m":true}"#).first) else {
            Issue.record("unmapped symbol accepted"); return
        }
        guard case .reject(.malformedJSON, _) = try #require(read(#"{"e":"trade""#).first) else { Issue.record("broken JSON accepted"); return }
    }

    @Test("a REST depth snapshot: lastUpdateId as both ids, levels as sent; a refusal or a missing id is an error")
    func depthSnapshot() throws {
        let provider = BinanceProvider()
        let update = try provider.bookSnapshot(venueSymbol: "BNBBTC", body: Array(#"{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#.utf8))
        #expect(update.kind == .snapshot && update.firstUpdateID == 1_027_024 && update.lastUpdateID == 1_027_024)
        #expect(update.bids == [BookLevel(price: "4.00000000", quantity: "431.00000000")] && update.asks == [BookLevel(price: "4.00000200", quantity: "12.00000000")])
        #expect(throws: ProviderError.self) { try provider.bookSnapshot(venueSymbol: "X", body: Array(#"{"code":-1121,"msg":"Invalid symbol."}"#.utf8)) }
        #expect(throws: ProviderError.self) { try provider.bookSnapshot(venueSymbol: "X", body: Array(#"{"bids":[],"asks":[]}"#.utf8)) }
        #expect(throws: ProviderError.self) { try provider.bookSnapshot(venueSymbol: "X", body: Array("<html>".utf8)) }
    }
}

@Suite("Binance spot: klines history")
struct BinanceHistoryTests {
    let provider = BinanceProvider()

    @Test("rows [openTime ms, open, high, low, close, volume, …] become exact trade candles; a minute without trades is none")
    func klines() throws {
        let request = try provider.historyRequest(base: "https://api.binance.com", venueSymbol: provider.venueSymbol(forCanonical: "BTC/USDT"),
                                                  first: 1_796_036_400, last: 1_796_036_460, credential: nil)
        #expect(request.url == "https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=1796036400000&endTime=1796036519999&limit=1000")
        let body = #"[[1796036400000,"50000.10","50010.00","49990.00","50005.50","1.25000000",1796036459999,"0",12,"0","0","0"],[1796036460000,"50005.50","50005.50","50005.50","50005.50","0.00000000",1796036519999,"0",0,"0","0","0"]]"#
        guard case .candles(let candles) = try provider.readHistory(Array(body.utf8), request: request) else { Issue.record("no candles"); return }
        #expect(candles.count == 1, "the empty minute is not a candle")
        #expect(candles.first?.start == 1_796_036_400_000_000_000 && candles.first?.open == DecimalText("50000.10") && candles.first?.volume == DecimalText("1.25000000"))
        #expect(throws: HistoryAnswerError.self) {
            try provider.readHistory(Array(#"[[1796036430000,"1","1","1","1","1",0,"0",1]]"#.utf8), request: request)
        }
        #expect(throws: HistoryAnswerError.self) { try provider.readHistory(Array(#"[["x"]]"#.utf8), request: request) }
        #expect(provider.readRefusal(status: 400, body: Array(#"{"code":-1121,"msg":"Invalid symbol."}"#.utf8)) == .noAccess("HTTP 400: code -1121: Invalid symbol."))
        #expect(provider.readRefusal(status: 418, body: []) == .failed("HTTP 418"))
        #expect(throws: ProviderError.self) { try provider.historyRequest(base: "x", venueSymbol: "btc/usdt", first: 0, last: 0, credential: nil) }
    }
}
