import FXCore

/// Kraken spot REST history: `GET {rest}/0/public/OHLC?pair=XBTUSD&interval=1&since=<seconds>` answers
/// `{"error":[],"result":{"XXBTZUSD":[[time,"open","high","low","close","vwap","volume",count],…],"last":…}}`.
///
/// **Kraken keeps only the last 720 intervals** (12 hours of minutes) whatever `since` says. A window that
/// starts before the oldest minute Kraken still serves cannot be rebuilt from OHLC: the repair is refused
/// as unfillable with that reason (Kraken's Trades endpoint goes further back, but rebuilding candles from
/// every trade of a busy pair is not done here), so a Kraken gap older than 12 hours stays visible as
/// unfillable, never silently "repaired" with missing minutes. A row whose `count` is 0 had no trades.
extension KrakenProvider: MarketHistory {
    public var maxMinutesPerRequest: Int64 { 720 }
    /// Kraken's public endpoints allow about one call a second per IP.
    public var defaultRateLimit: String { "1/s,burst=2" }

    /// `BTC/USD` stays `BTC/USD` (the stream's symbol); its REST name is built by ``historyRequest``.
    public func venueSymbol(forCanonical symbol: String) -> String { symbol.uppercased() }

    /// Kraken's REST names bitcoin `XBT` and dogecoin `XDG`: `BTC/USD` -> `XBTUSD`.
    static func restPair(_ venueSymbol: String) -> String {
        venueSymbol.split(separator: "/").map { part in
            switch part {
            case "BTC": "XBT"
            case "DOGE": "XDG"
            default: String(part)
            }
        }.joined()
    }

    public func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                               credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
        guard SymbolMapper.kraken(venueSymbol) != nil else {
            throw ProviderError(.invalidSymbol, provider: id, "'\(venueSymbol)' is not a Kraken pair (BASE/QUOTE)")
        }
        // `since` is exclusive: one second before the first minute returns it.
        let url = "\(base)/0/public/OHLC?pair=\(Self.restPair(venueSymbol))&interval=1&since=\(first - 1)"
        return HistoryRequest(url: url, redactedURL: url, first: first, last: last)
    }

    public func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer {
        let document: JSONValue
        do { document = try JSONParser().parse(body) } catch { throw HistoryAnswerError("malformed_history", "not JSON: \(error)") }
        if let errors = document["error"]?.arrayValue, !errors.isEmpty {
            let text = errors.compactMap(\.stringValue).joined(separator: "; ")
            // EQuery:Unknown asset pair: no history will ever come for it.
            if text.contains("Unknown asset pair") { return .noAccess("Kraken: \(text.prefix(200))") }
            return .failed("Kraken: \(text.prefix(200))")
        }
        guard case .object(let result)? = document["result"],
              let rows = result.first(where: { $0.key != "last" })?.value.arrayValue else {
            throw HistoryAnswerError("malformed_history", "expected result.<pair> rows")
        }
        var candles: [HistoryCandle] = []
        var oldest: Int64?
        for (index, row) in rows.enumerated() {
            guard let fields = row.arrayValue, fields.count >= 8, let time = fields[0].int64Value,
                  let open = fields[1].decimal, let high = fields[2].decimal, let low = fields[3].decimal,
                  let close = fields[4].decimal, let volume = fields[6].decimal, let count = fields[7].int64Value else {
                throw HistoryAnswerError("malformed_history", "row \(index) is not [time, open, high, low, close, vwap, volume, count]")
            }
            guard time % 60 == 0 else { throw HistoryAnswerError("malformed_history", "row \(index) time \(time) is not a minute") }
            oldest = min(oldest ?? time, time)
            guard time >= request.first, time <= request.last, count > 0 else { continue }
            candles.append(try HistoryCandle.checked(seconds: time, open: open, high: high, low: low, close: close, volume: volume,
                                                     at: "row \(index)"))
        }
        // Kraken serves its last 720 minutes: up to `last` (its newest committed minute) and the minute in
        // progress, so the oldest is `last` - 718 minutes; a window starting before it cannot be rebuilt.
        let horizon = result["last"]?.int64Value.map { $0 - 718 * 60 } ?? (rows.count >= 720 ? oldest : nil)
        if let horizon, request.first < horizon {
            return .noAccess("Kraken's OHLC keeps only the last 720 minutes: minute \(request.first) is older than its oldest (\(horizon)), not repairable from OHLC")
        }
        return .candles(candles.sorted { $0.start < $1.start })
    }
}
