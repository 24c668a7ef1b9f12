import FXCore
import FXVenues
import Testing

/// The venues' REST history answers, read as exact decimals; anything else is refused with a reason.
@Suite("Provider history: reading REST candles")
struct HistoryParsingTests {
    let coinbase = CoinbaseProvider()
    let finnhub = FinnhubProvider()

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("Coinbase: rows [time, low, high, open, close, volume], newest first, become exact candles oldest first")
    func coinbaseRows() throws {
        let request = try coinbase.historyRequest(base: "https://api.exchange.coinbase.com", venueSymbol: "BTC-USD",
                                                  first: 1_795_000_020, last: 1_795_000_080, credential: nil)
        #expect(request.url == "https://api.exchange.coinbase.com/products/BTC-USD/candles?granularity=60&start=2026-11-18T11:07:00Z&end=2026-11-18T11:08:00Z")
        let answer = try coinbase.readHistory(bytes("[[1795000080,50000.1,50010.25,50001,50009.5,1.23456789],[1795000020,4.9999e4,50000.5,50000,50000.2,0.1]]"),
                                              request: request)
        guard case .candles(let candles) = answer else { Issue.record("\(answer)"); return }
        #expect(candles.map(\.start) == [1_795_000_020_000_000_000, 1_795_000_080_000_000_000])
        #expect(candles[0].low == DecimalText("49999"), "an exponent is read exactly")
        #expect(candles[1].volume.text == "1.23456789" && candles[1].high.text == "50010.25" && candles[1].open.text == "50001")
    }

    @Test("Coinbase: malformed rows are refused with a reason, never turned into candles")
    func coinbaseMalformed() throws {
        let request = try coinbase.historyRequest(base: "http://x", venueSymbol: "BTC-USD", first: 1_795_000_020, last: 1_795_000_080, credential: nil)
        for body in ["[[1795000020,\"x\",1,1,1,1]]", "[[1795000020,1,2,3]]", "{\"rows\":[]}", "[[1795000021,1,1,1,1,1]]",
                     "[[1795000140,1,1,1,1,1]]", "[[1795000020,2,1,1,1,1]]", "[[1795000020,1,2,1,1,-1]]", "not json"] {
            #expect(throws: HistoryAnswerError.self, "\(body)") { _ = try coinbase.readHistory(bytes(body), request: request) }
        }
        #expect(try coinbase.readHistory(bytes(#"{"message":"NotFound"}"#), request: request) == .failed("Coinbase: NotFound"))
        #expect(try coinbase.readHistory(bytes("[]"), request: request) == .candles([]))
    }

    @Test("Finnhub: forex and crypto endpoints, exact prices, forex tick volume kept out of volume, no_data, no access")
    func finnhubAnswers() throws {
        let key = ProviderCredential(key: "abc123")
        let forex = try finnhub.historyRequest(base: "https://finnhub.io/api/v1", venueSymbol: "OANDA:EUR_USD",
                                               first: 1_795_000_020, last: 1_795_000_080, credential: key)
        #expect(forex.url == "https://finnhub.io/api/v1/forex/candle?symbol=OANDA%3AEUR_USD&resolution=1&from=1795000020&to=1795000139&token=abc123")
        #expect(!forex.redactedURL.contains("abc123"))
        let crypto = try finnhub.historyRequest(base: "https://finnhub.io/api/v1", venueSymbol: "BINANCE:BTCUSDT",
                                                first: 1_795_000_020, last: 1_795_000_020, credential: key)
        #expect(crypto.url.contains("/crypto/candle?symbol=BINANCE%3ABTCUSDT"))
        let body = #"{"s":"ok","t":[1795000020,1795000080],"o":[1.08512,1.0852],"h":[1.0853,1.08525],"l":[1.085,1.08515],"c":[1.0852,1.08521],"v":[41,17]}"#
        guard case .candles(let candles) = try finnhub.readHistory(bytes(body), request: forex) else { Issue.record("no candles"); return }
        #expect(candles.map(\.open.text) == ["1.08512", "1.0852"])
        #expect(candles.allSatisfy { $0.volume.isZero }, "forex v is a tick count, not size")
        guard case .candles(let cryptoCandles) = try finnhub.readHistory(bytes(#"{"s":"ok","t":[1795000020],"o":[1],"h":[2],"l":[0.5],"c":[1.5],"v":[3.25]}"#),
                                                                         request: crypto) else { Issue.record("no candles"); return }
        #expect(cryptoCandles.first?.volume.text == "3.25")
        #expect(try finnhub.readHistory(bytes(#"{"s":"no_data"}"#), request: forex) == .candles([]))
        #expect(try finnhub.readHistory(bytes(#"{"error":"You don't have access to this resource."}"#), request: forex)
                == .noAccess("Finnhub: You don't have access to this resource."))
        #expect(finnhub.readRefusal(status: 403, body: bytes(#"{"error":"You don't have access to this resource."}"#))
                == .noAccess("HTTP 403: You don't have access to this resource."))
        #expect(throws: HistoryAnswerError.self) { _ = try finnhub.readHistory(bytes(#"{"s":"ok","t":[1795000020],"o":[1]}"#), request: forex) }
        #expect(throws: ProviderError.self) {
            _ = try finnhub.historyRequest(base: "x", venueSymbol: "OANDA:EUR_USD", first: 0, last: 0, credential: nil)
        }
    }

    @Test("canonical symbols map to the venue's for bootstrap")
    func venueSymbols() {
        #expect(coinbase.venueSymbol(forCanonical: "BTC/USD") == "BTC-USD")
        #expect(finnhub.venueSymbol(forCanonical: "EUR/USD") == "OANDA:EUR_USD")
        #expect(finnhub.venueSymbol(forCanonical: "BTC/USDT") == "BINANCE:BTCUSDT")
        #expect(finnhub.venueSymbol(forCanonical: "FXCM:EUR/USD") == "FXCM:EUR/USD")
    }
}
