import FXCore

/// Binance spot REST history: `GET {rest}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=&endTime=&limit=1000`
/// answers rows `[openTime(ms), "open", "high", "low", "close", "volume", closeTime, "quoteVolume", trades, …]`,
/// oldest first, at most 1000 per request. Public; each request weighs 2 of the 6,000 a minute an IP may
/// spend (the ingestor's depth snapshots spend from the same budget).
extension BinanceProvider: MarketHistory {
    public var maxMinutesPerRequest: Int64 { 1000 }
    public var defaultRateLimit: String { "10/s,burst=5" }

    /// `BTC/USDT` -> `BTCUSDT`.
    public func venueSymbol(forCanonical symbol: String) -> String {
        symbol.replacingOccurrences(of: "/", with: "").uppercased()
    }

    public func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                               credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
        guard !venueSymbol.isEmpty, venueSymbol.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) }) else {
            throw ProviderError(.invalidSymbol, provider: id, "'\(venueSymbol)' is not a Binance symbol")
        }
        let url = "\(base)/api/v3/klines?symbol=\(venueSymbol)&interval=1m&startTime=\(first * 1000)&endTime=\(last * 1000 + 59_999)&limit=1000"
        return HistoryRequest(url: url, redactedURL: url, first: first, last: last)
    }

    public func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer {
        let document: JSONValue
        do { document = try JSONParser().parse(body) } catch { throw HistoryAnswerError("malformed_history", "not JSON: \(error)") }
        guard let rows = document.arrayValue else {
            if document["msg"] != nil { return .failed("Binance: \(BinanceNormalizer.errorText(document))") }
            throw HistoryAnswerError("malformed_history", "expected an array of kline rows")
        }
        var candles: [HistoryCandle] = []
        candles.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            guard let fields = row.arrayValue, fields.count >= 6, let openTime = fields[0].int64Value,
                  let open = fields[1].decimal, let high = fields[2].decimal, let low = fields[3].decimal,
                  let close = fields[4].decimal, let volume = fields[5].decimal else {
                throw HistoryAnswerError("malformed_history", "row \(index) is not [openTime, open, high, low, close, volume, …]")
            }
            guard openTime % 60_000 == 0, openTime / 1000 >= request.first, openTime / 1000 <= request.last else {
                throw HistoryAnswerError("malformed_history", "row \(index) open time \(openTime) is not a requested minute")
            }
            // A minute without trades is sent with zero volume and the previous close: not a candle here.
            if volume.isZero, fields.count > 8, fields[8].int64Value == 0 { continue }
            candles.append(try HistoryCandle.checked(seconds: openTime / 1000, open: open, high: high, low: low, close: close,
                                                     volume: volume, at: "row \(index)"))
        }
        return .candles(candles)
    }

    /// Binance's refusals: 400 with code -1121 (no such symbol) cannot be repaired; 418 (an IP banned for
    /// ignoring 429s) and others are retried later.
    public func readRefusal(status: Int, body: [UInt8]) -> HistoryAnswer {
        let document = try? JSONParser().parse(body)
        let text = document.map(BinanceNormalizer.errorText) ?? ""
        if status == 400, document?["code"]?.int64Value == -1121 { return .noAccess("HTTP 400: \(text)") }
        if status == 403 { return .noAccess("HTTP 403\(text.isEmpty ? "" : ": " + text)") }
        return .failed("HTTP \(status)\(text.isEmpty ? "" : ": " + text)")
    }
}
