import FXContracts
import FXCore
import FXVenues
import Testing

@Suite("Finnhub frames to normalized ticks")
struct FinnhubNormalizerTests {
    let normalizer = FinnhubNormalizer()

    private func events(_ text: String) -> [NormalizedEvent] {
        normalizer.normalize(Array(text.utf8), receivedAt: 5)
    }

    @Test("each trade item becomes a tick; prices exact from the JSON literal; forex v=0 kept as size 0")
    func trades() {
        let result = events(#"{"data":[{"c":null,"p":1.08765,"s":"OANDA:EUR_USD","t":1575526691134,"v":0},{"c":["1"],"p":7296.89,"s":"BINANCE:BTCUSDT","t":1575526691135,"v":0.011467}],"type":"trade"}"#)
        #expect(result == [
            .tick(Tick(source: "finnhub", symbol: "EUR/USD", venueSymbol: "OANDA:EUR_USD", timestamp: 1_575_526_691_134_000_000, receivedAt: 5,
                       sequence: nil, payload: .trade(price: DecimalText("1.08765")!, size: DecimalText("0")!, side: nil, tradeID: nil))),
            .tick(Tick(source: "finnhub", symbol: "BTC/USDT", venueSymbol: "BINANCE:BTCUSDT", timestamp: 1_575_526_691_135_000_000, receivedAt: 5,
                       sequence: nil, payload: .trade(price: DecimalText("7296.89")!, size: DecimalText("0.011467")!, side: nil, tradeID: nil))),
        ])
    }

    @Test("a bad item is rejected without losing its good neighbours")
    func mixedBatch() {
        let result = events(#"{"type":"trade","data":[{"p":-1,"s":"OANDA:EUR_USD","t":1,"v":0},{"p":1.1,"s":"OANDA:GBP_USD","t":2,"v":0},{"p":1.2,"s":"OANDA:EUR_USD","t":"x","v":0},{"p":1.3,"s":"???","t":3,"v":0},{"p":1.4,"s":"OANDA:EUR_USD","t":4,"v":-2}]}"#)
        #expect(result.count == 5)
        let reasons = result.compactMap { if case .reject(let reason, _) = $0 { reason } else { nil } }
        #expect(reasons == [.invalidPrice, .invalidTimestamp, .unmappedSymbol, .invalidSize])
        guard case .tick(let tick) = result[1] else { Issue.record("good item lost"); return }
        #expect(tick.symbol == "GBP/USD")
    }

    @Test("ping, errors and unknown types")
    func protocolMessages() {
        #expect(events(#"{"type":"ping"}"#) == [.control("ping")])
        #expect(events(#"{"type":"error","msg":"Subscribing to too many symbols"}"#) == [.providerError("Subscribing to too many symbols")])
        guard case .reject(.unknownType, _)? = events(#"{"type":"news"}"#).first else { Issue.record("unknown type accepted"); return }
        guard case .reject(.missingField, _)? = events(#"{"type":"trade"}"#).first else { Issue.record("trade without data accepted"); return }
    }

    @Test("symbols map to canonical BASE/QUOTE", arguments: [
        ("OANDA:EUR_USD", "EUR/USD"), ("FXCM:GBP/JPY", "GBP/JPY"), ("BINANCE:ethbtc", "ETH/BTC"), ("COINBASE:BTC-USD", "BTC/USD"),
    ])
    func symbols(venue: String, canonical: String) {
        #expect(SymbolMapper.finnhub(venue) == canonical)
    }

    @Test("symbols that cannot be mapped are refused", arguments: ["EURUSD", "OANDA:", "OANDA:EUR_", "X:ABCXYZ", ":EUR_USD"])
    func unmapped(venue: String) {
        #expect(SymbolMapper.finnhub(venue) == nil)
    }
}
