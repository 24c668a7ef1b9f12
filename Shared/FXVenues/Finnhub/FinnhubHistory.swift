import FXCore

/// Finnhub REST history: `GET {rest}/forex/candle` (forex venues) or `{rest}/crypto/candle` (crypto
/// venues) with `symbol`, `resolution=1`, `from`, `to` (seconds) and `token`; answers
/// `{"s":"ok","t":[],"o":[],"h":[],"l":[],"c":[],"v":[]}` or `{"s":"no_data"}`. Plans without access
/// answer 403 "You don't have access to this resource" (the gap is then unfillable). Forex `v` is a tick
/// count, not traded size: forex candles keep volume 0, as the streamed forex trades do.
extension FinnhubProvider: MarketHistory {
    public var maxMinutesPerRequest: Int64 { 1_440 }
    /// The free plan allows 60 calls/minute: stay below it even with a burst.
    public var defaultRateLimit: String { "50/m,burst=5" }

    /// `EUR/USD` -> `OANDA:EUR_USD`, `BTC/USDT` -> `BINANCE:BTCUSDT`; a symbol with an exchange prefix is kept.
    public func venueSymbol(forCanonical symbol: String) -> String {
        if symbol.contains(":") { return symbol }
        let parts = symbol.split(separator: "/")
        guard parts.count == 2 else { return symbol }
        let fiat: Set<Substring> = ["USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "SEK", "NOK", "DKK", "SGD", "HKD", "MXN", "ZAR", "TRY", "PLN"]
        return fiat.contains(parts[0]) && fiat.contains(parts[1]) ? "OANDA:\(parts[0])_\(parts[1])" : "BINANCE:\(parts[0])\(parts[1])"
    }

    func isCrypto(_ venueSymbol: String) -> Bool {
        Self.cryptoExchanges.contains(String(venueSymbol.split(separator: ":").first ?? "").uppercased())
    }

    public func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                               credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
        guard let credential, !credential.key.isEmpty else {
            throw ProviderError(.missingCredential, provider: id, "an API key is required (FINNHUB_API_KEY or FINNHUB_API_KEY_FILE)")
        }
        _ = try webSocketURL(base: "", credential: credential)  // the same key check as the stream's
        let symbol = venueSymbol.utf8.map { byte -> String in
            let c = Character(Unicode.Scalar(byte))
            return c.isLetter || c.isNumber || c == "_" || c == "-" || c == "." ? String(c) : "%" + String(byte, radix: 16, uppercase: true)
        }.joined()
        let path = isCrypto(venueSymbol) ? "crypto" : "forex"
        let query = "symbol=\(symbol)&resolution=1&from=\(first)&to=\(last + 59)"
        return HistoryRequest(url: "\(base)/\(path)/candle?\(query)&token=\(credential.key)",
                              redactedURL: "\(base)/\(path)/candle?\(query)&token=\(Redaction.placeholder)", first: first, last: last)
    }

    public func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer {
        let document: JSONValue
        do { document = try JSONParser().parse(body) } catch { throw HistoryAnswerError("malformed_history", "not JSON: \(error)") }
        if let error = document["error"]?.stringValue {
            return error.lowercased().contains("access") ? .noAccess("Finnhub: \(error.prefix(200))") : .failed("Finnhub: \(error.prefix(200))")
        }
        switch document["s"]?.stringValue {
        case "no_data": return .candles([])
        case "ok": break
        default: throw HistoryAnswerError("malformed_history", "status field 's' is neither ok nor no_data")
        }
        guard let times = document["t"]?.arrayValue, let opens = document["o"]?.arrayValue, let highs = document["h"]?.arrayValue,
              let lows = document["l"]?.arrayValue, let closes = document["c"]?.arrayValue, let volumes = document["v"]?.arrayValue,
              Set([times.count, opens.count, highs.count, lows.count, closes.count, volumes.count]).count == 1 else {
            throw HistoryAnswerError("malformed_history", "arrays t, o, h, l, c, v missing or of different lengths")
        }
        let forex = request.redactedURL.contains("/forex/candle?")
        var candles: [HistoryCandle] = []
        for index in times.indices {
            guard let time = times[index].int64Value, let open = opens[index].decimal, let high = highs[index].decimal,
                  let low = lows[index].decimal, let close = closes[index].decimal, let volume = volumes[index].decimal else {
                throw HistoryAnswerError("malformed_history", "element \(index) is not numeric")
            }
            guard time % 60 == 0, time >= request.first, time <= request.last else {
                throw HistoryAnswerError("malformed_history", "element \(index) time \(time) is not a requested minute")
            }
            let candle = try HistoryCandle.checked(seconds: time, open: open, high: high, low: low, close: close,
                                                   volume: forex ? DecimalText("0")! : volume, at: "element \(index)")
            candles.append(candle)
        }
        return .candles(candles.sorted { $0.start < $1.start })
    }
}
