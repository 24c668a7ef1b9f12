import FXCore

/// IG's price history for repairs: `GET {rest}/prices/{epic}?resolution=MINUTE&from&to&pageSize=0`
/// (version 3, the API key, and the login's `CST` and `X-SECURITY-TOKEN`, which the backfiller adds from
/// its session: ``IGProvider/historyLogin(base:credential:)``). Each row's
/// `openPrice`/`highPrice`/`lowPrice`/`closePrice` carry `bid` and `ask` (JSON number literals, read
/// exactly): they become `bid` and `ask` candles and a `mid` candle of their mids (open and close exact;
/// high and low the mids of the extremes), volume 0 as streamed quotes have. IG meters history by a
/// weekly data-point allowance (`metadata.allowance.remainingAllowance`); an answer refused because it
/// ran out (`error.public-api.exceeded-account-historical-data-allowance`) makes the gap `unfillable` with
/// that reason.
public enum IGHistory {
    public static let maxMinutesPerRequest: Int64 = 1_000

    public static func request(rest: String, epic: String, first: Int64, last: Int64, apiKey: String) -> HistoryRequest {
        func time(_ seconds: Int64) -> String {
            String(Timestamps.rfc3339(nanoseconds: seconds * 1_000_000_000, fractionDigits: 0).dropLast())  // IG: no zone suffix, UTC
        }
        let url = "\(rest)/prices/\(epic)?resolution=MINUTE&from=\(time(first))&to=\(time(last))&pageSize=0"
        return HistoryRequest(url: url, redactedURL: url, first: first, last: last,
                              headers: ["X-IG-API-KEY": apiKey, "VERSION": "3"])
    }

    /// The candles and the allowance left (nil when the answer does not say).
    public static func read(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> (answer: HistoryAnswer, allowanceLeft: Int64?) {
        let document: JSONValue
        do { document = try JSONParser().parse(body) } catch { throw HistoryAnswerError("malformed_history", "not JSON: \(error)") }
        guard let rows = document["prices"]?.arrayValue else { throw HistoryAnswerError("malformed_history", "no 'prices' array") }
        var candles: [HistoryCandle] = []
        for (index, row) in rows.enumerated() {
            let position = "price \(index)"
            guard let text = row["snapshotTimeUTC"]?.stringValue, let time = Timestamps.nanoseconds(rfc3339: text.hasSuffix("Z") ? text : text + "Z") else {
                throw HistoryAnswerError("invalid_timestamp", "\(position): 'snapshotTimeUTC' missing or not a UTC time")
            }
            let seconds = time / 1_000_000_000
            guard time % 60_000_000_000 == 0, seconds >= request.first, seconds <= request.last else {
                throw HistoryAnswerError("malformed_history", "\(position): time \(seconds) is not a requested minute")
            }
            var bid: [DecimalText] = [], ask: [DecimalText] = []
            for name in ["openPrice", "highPrice", "lowPrice", "closePrice"] {
                guard let b = row[name]?["bid"]?.decimal, let a = row[name]?["ask"]?.decimal else {
                    throw HistoryAnswerError("invalid_decimal", "\(position): \(name) without a numeric bid and ask")
                }
                bid.append(b)
                ask.append(a)
            }
            candles += try HistoryCandle.quoteCandles(seconds: seconds, bid: bid, ask: ask, at: position)
        }
        let left = document["metadata"]?["allowance"]?["remainingAllowance"]?.int64Value
        return (.candles(candles.sorted { ($0.start, $0.priceType) < ($1.start, $1.priceType) }), left)
    }

    /// A refusal: the allowance running out is unfillable (it says so); 401/403 otherwise the login's
    /// (retried after a new login); others retried.
    public static func refusal(status: Int, body: [UInt8]) -> HistoryAnswer {
        let code = ((try? JSONParser().parse(body))?["errorCode"]?.stringValue ?? "").prefix(120)
        if code.contains("exceeded-account-historical-data-allowance") {
            return .noAccess("IG's weekly historical data allowance is used up (\(code))")
        }
        return .failed("HTTP \(status)\(code.isEmpty ? "" : ": " + code)")
    }
}

/// IG as a history source: one login per backfiller (its tokens go on every request, and a 401 logs in
/// again), at most 1,000 minutes per request, one request per second by default (IG allows about 60
/// non-trading requests a minute per application); an answer that says the weekly allowance is used up
/// rests the source's shared rate bucket until it renews.
extension IGProvider: MarketHistory {
    public var maxMinutesPerRequest: Int64 { IGHistory.maxMinutesPerRequest }
    public var defaultRateLimit: String { "1/s,burst=2" }

    /// `EUR/USD` -> `CS.D.EURUSD.CFD.IP` (IG's spot FX CFD epic); an epic is kept.
    public func venueSymbol(forCanonical symbol: String) -> String {
        if IGEpics.isEpic(symbol) { return symbol }
        return "CS.D." + symbol.filter { $0 != "/" } + ".CFD.IP"
    }

    public func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64,
                               credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest {
        guard let key = credential?.key, !key.isEmpty else {
            throw ProviderError(.missingCredential, provider: id, "an API key is required (IG_API_KEY)")
        }
        guard IGEpics.isEpic(venueSymbol) else {
            throw ProviderError(.invalidSymbol, provider: id, "'\(venueSymbol.prefix(64))' is not an IG epic such as CS.D.EURUSD.CFD.IP")
        }
        return IGHistory.request(rest: gateway(base, credential), epic: venueSymbol, first: first, last: last, apiKey: key)
    }

    public func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer {
        try IGHistory.read(body, request: request).answer
    }

    public func readRefusal(status: Int, body: [UInt8]) -> HistoryAnswer {
        IGHistory.refusal(status: status, body: body)
    }

    /// The allowance used up (`remainingAllowance` 0): rest until it renews (`allowanceExpiry` seconds).
    public func historyPause(_ body: [UInt8]) -> Duration? {
        guard let allowance = (try? JSONParser().parse(body))?["metadata"]?["allowance"],
              let left = allowance["remainingAllowance"]?.int64Value, left <= 0 else { return nil }
        return .seconds(max(1, min(allowance["allowanceExpiry"]?.int64Value ?? 3_600, 7 * 86_400)))
    }

    public func historyLogin(base: String, credential: ProviderCredential?) throws(ProviderError) -> StreamRequest? {
        try loginRequest(base: base, credential: credential)
    }

    public func historySessionHeaders(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> [String: String] {
        let login = try IGLogin.read(status: status, headers: headers, body: body)
        return ["CST": login.cst, "X-SECURITY-TOKEN": login.securityToken]
    }
}
