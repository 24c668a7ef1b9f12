import FXCore

/// OANDA v20 history: `GET {rest}/v3/instruments/{instrument}/candles?granularity=M1&price=BA&from&to`
/// with the stream's bearer token, at most 5,000 candles per request. The answer
/// `{"candles":[{"time","volume","complete","bid":{"o","h","l","c"},"ask":{...}}]}` becomes, per minute,
/// a `bid` and an `ask` candle (exact, as OANDA wrote them) and a `mid` candle whose open and close are the
/// exact mids of bid and ask and whose high and low are the mids of the bid and ask extremes (the bound the
/// venue's candles allow; the quotes' own mid extremes can lie inside it). Quote candles carry volume 0,
/// as streamed quotes do (OANDA's `volume` counts price changes). A page with an incomplete candle (the
/// minute still running) is not a repair: the gap is retried later (never a minute confirmed empty).
/// Rows outside the requested minutes are skipped.
extension OandaProvider: MarketHistory {
    public var maxMinutesPerRequest: Int64 { 5_000 }
    /// OANDA allows about 100 requests per second per token on REST; stay far below it.
    public var defaultRateLimit: String { "10/s,burst=10" }

    /// `EUR/USD` -> `EUR_USD`; an instrument name is kept.
    public func venueSymbol(forCanonical symbol: String) -> String {
        String(symbol.map { $0 == "/" ? "_" : $0 })
    }

    public func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                               credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
        let token = try Self.checkToken(credential, provider: id)
        guard Self.isInstrument(venueSymbol) else {
            throw ProviderError(.invalidSymbol, provider: id, "'\(venueSymbol.prefix(40))' is not an OANDA instrument such as EUR_USD")
        }
        let host = base == Self.practiceREST && credential?.live == true ? Self.liveREST : base
        let from = Timestamps.rfc3339(nanoseconds: first * 1_000_000_000, fractionDigits: 0)
        let to = Timestamps.rfc3339(nanoseconds: (last + 60) * 1_000_000_000, fractionDigits: 0)
        let url = "\(host)/v3/instruments/\(venueSymbol)/candles?granularity=M1&price=BA&from=\(from)&to=\(to)"
        return HistoryRequest(url: url, redactedURL: url, first: first, last: last,
                              headers: ["Authorization": "Bearer \(token)", "Accept-Datetime-Format": "RFC3339"])
    }

    public func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer {
        let document: JSONValue
        do { document = try JSONParser().parse(body) } catch { throw HistoryAnswerError("malformed_history", "not JSON: \(error)") }
        guard let rows = document["candles"]?.arrayValue else {
            throw HistoryAnswerError("malformed_history", "no 'candles' array")
        }
        var candles: [HistoryCandle] = []
        for (index, row) in rows.enumerated() {
            let position = "candle \(index)"
            guard let time = row["time"]?.stringValue.flatMap({ Timestamps.nanoseconds(rfc3339: $0) }) else {
                throw HistoryAnswerError("invalid_timestamp", "\(position): 'time' missing or not RFC 3339")
            }
            let seconds = time / 1_000_000_000
            guard time % 60_000_000_000 == 0 else {
                throw HistoryAnswerError("malformed_history", "\(position): time \(seconds) is not a whole minute")
            }
            // A minute outside the request (whether `to` is inclusive is not documented): not ours to write.
            guard seconds >= request.first, seconds <= request.last else { continue }
            // A minute still running: no repair from it; the whole page is asked again later.
            if row["complete"]?.boolValue == false { return .failed("OANDA: minute \(seconds) is not complete yet") }
            let bid = try Self.ohlc(row["bid"], "\(position) bid")
            let ask = try Self.ohlc(row["ask"], "\(position) ask")
            candles += try HistoryCandle.quoteCandles(seconds: seconds, bid: bid, ask: ask, at: position)
        }
        return .candles(candles.sorted { ($0.start, $0.priceType) < ($1.start, $1.priceType) })
    }

    /// `{"o","h","l","c"}` as exact decimals (strings on the wire).
    private static func ohlc(_ value: JSONValue?, _ position: String) throws(HistoryAnswerError) -> [DecimalText] {
        guard let value else { throw HistoryAnswerError("malformed_history", "\(position) missing (ask for price=BA)") }
        var prices: [DecimalText] = []
        for name in ["o", "h", "l", "c"] {
            guard let text = value[name]?.stringValue, let price = DecimalText(text) else {
                throw HistoryAnswerError("invalid_decimal", "\(position): '\(name)' missing or not a decimal string")
            }
            prices.append(price)
        }
        return prices
    }

    /// 401 is an expired or revoked token (worth retrying once it is replaced), 403 a refusal of this history.
    public func readRefusal(status: Int, body: [UInt8]) -> HistoryAnswer {
        let message = String(((try? JSONParser().parse(body))?["errorMessage"]?.stringValue ?? "").prefix(200))
        let suffix = message.isEmpty ? "" : ": " + message
        return status == 403 ? .noAccess("HTTP 403\(suffix)") : .failed("HTTP \(status)\(suffix)")
    }
}
