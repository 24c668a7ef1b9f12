import FXCore

/// Coinbase Exchange REST history: `GET {rest}/products/{product_id}/candles?granularity=60&start=&end=`
/// answers rows `[time, low, high, open, close, volume]`, newest first, at most 300 per request (so a
/// window is asked in pages of 300 minutes). Public endpoint: no credential; about 10 requests/s.
extension CoinbaseProvider: MarketHistory {
    public var maxMinutesPerRequest: Int64 { 300 }
    public var defaultRateLimit: String { "8/s,burst=4" }

    public func venueSymbol(forCanonical symbol: String) -> String {
        symbol.replacingOccurrences(of: "/", with: "-")
    }

    public func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                               credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
        guard !venueSymbol.isEmpty, venueSymbol.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) }) else {
            throw ProviderError(.invalidSymbol, provider: id, "'\(venueSymbol)' is not a Coinbase product id")
        }
        let start = Timestamps.rfc3339(nanoseconds: first * 1_000_000_000, fractionDigits: 0)
        let end = Timestamps.rfc3339(nanoseconds: last * 1_000_000_000, fractionDigits: 0)
        let url = "\(base)/products/\(venueSymbol)/candles?granularity=60&start=\(start)&end=\(end)"
        return HistoryRequest(url: url, redactedURL: url, first: first, last: last)
    }

    public func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer {
        let document: JSONValue
        do { document = try JSONParser().parse(body) } catch { throw HistoryAnswerError("malformed_history", "not JSON: \(error)") }
        guard let rows = document.arrayValue else {
            if let message = document["message"]?.stringValue { return .failed("Coinbase: \(message.prefix(200))") }
            throw HistoryAnswerError("malformed_history", "expected an array of candle rows")
        }
        var candles: [HistoryCandle] = []
        candles.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            guard let fields = row.arrayValue, fields.count >= 6, let time = fields[0].int64Value,
                  let low = fields[1].decimal, let high = fields[2].decimal, let open = fields[3].decimal,
                  let close = fields[4].decimal, let volume = fields[5].decimal else {
                throw HistoryAnswerError("malformed_history", "row \(index) is not [time, low, high, open, close, volume] with numbers")
            }
            guard time % 60 == 0, time >= request.first, time <= request.last else {
                throw HistoryAnswerError("malformed_history", "row \(index) time \(time) is not a requested minute")
            }
            let candle = try HistoryCandle.checked(seconds: time, open: open, high: high, low: low, close: close, volume: volume,
                                                   at: "row \(index)")
            candles.append(candle)
        }
        return .candles(candles.sorted { $0.start < $1.start })
    }
}
