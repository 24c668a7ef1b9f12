import FXCore

/// A venue's REST history of 1-minute candles, next to its streaming side (same folder, same type).
/// The backfiller asks for windows of whole minutes; the plug-in builds the request and reads the answer;
/// HTTP, rate limits and retries are the backfiller's.
public protocol MarketHistory: Sendable {
    /// Most 1-minute candles one request may cover (Coinbase: 300).
    var maxMinutesPerRequest: Int64 { get }
    /// The default rate limit, within the provider's public limits (`N/s[,burst=B]` text).
    var defaultRateLimit: String { get }
    /// The venue symbol for a canonical `BASE/QUOTE` (or the venue symbol itself when given one).
    func venueSymbol(forCanonical symbol: String) -> String
    /// The request for the minutes `[first, last]` (seconds since the epoch, minute-aligned).
    func historyRequest(base: String, venueSymbol: String, first: Int64, last: Int64, credential: ProviderCredential?) throws(ProviderError) -> HistoryRequest
    /// Reads a 200 answer: every candle of the requested minutes (a minute without one had no trades),
    /// or `noAccess` when the venue refuses this history to the credential.
    func readHistory(_ body: [UInt8], request: HistoryRequest) throws(HistoryAnswerError) -> HistoryAnswer
    /// Reads an answer that is not 200 or 429 (e.g. Finnhub's 403 for history outside the plan).
    func readRefusal(status: Int, body: [UInt8]) -> HistoryAnswer
    /// How long the venue's history should rest after this 200 answer (IG: its weekly allowance used up,
    /// until it renews); nil (the default) for no pause.
    func historyPause(_ body: [UInt8]) -> Duration?
    /// A venue whose history needs a session first (IG): the login request; nil (the default) for none.
    func historyLogin(base: String, credential: ProviderCredential?) throws(ProviderError) -> StreamRequest?
    /// Reads the login answer into the headers every history request then carries (secrets: never logged).
    func historySessionHeaders(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> [String: String]
}

/// One REST request for history.
public struct HistoryRequest: Sendable, Equatable {
    /// The full URL (it may carry a token: log ``redactedURL``, never this).
    public var url: String
    /// The same URL with credentials removed, for logs and ledger errors.
    public var redactedURL: String
    /// Minute starts (seconds) the request covers, inclusive.
    public var first: Int64
    public var last: Int64
    /// Extra request headers, e.g. OANDA's `Authorization` (never logged).
    public var headers: [String: String]

    public init(url: String, redactedURL: String, first: Int64, last: Int64, headers: [String: String] = [:]) {
        self.headers = headers
        self.url = url
        self.redactedURL = redactedURL
        self.first = first
        self.last = last
    }
}

/// What a history answer means for the gap.
public enum HistoryAnswer: Sendable, Equatable {
    /// The candles of the requested minutes (oldest first).
    case candles([HistoryCandle])
    /// The venue will not serve this history to this credential or plan: the gap is unfillable.
    case noAccess(String)
    /// Worth retrying later (server error, an answer the venue marks as temporary).
    case failed(String)
}

/// An answer that cannot be read as candles (it goes to the rejects topic, never into candles).
public struct HistoryAnswerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Short machine-readable reason, e.g. `malformed_history`.
    public var reason: String
    public var detail: String

    public init(_ reason: String = "malformed_history", _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}

extension MarketHistory {
    public func historyPause(_ body: [UInt8]) -> Duration? { nil }

    public func historyLogin(base: String, credential: ProviderCredential?) throws(ProviderError) -> StreamRequest? { nil }

    public func historySessionHeaders(status: Int, headers: [String: String], body: [UInt8]) throws(ProviderError) -> [String: String] { [:] }

    /// Default for refusals: 401/403 are the credential's or plan's limits (unfillable), others retry.
    public func readRefusal(status: Int, body: [UInt8]) -> HistoryAnswer {
        let document = try? JSONParser().parse(body)
        let message = String((document?["message"]?.stringValue ?? document?["error"]?.stringValue ?? "").prefix(200))
        switch status {
        case 403: return .noAccess("HTTP 403\(message.isEmpty ? "" : ": " + message)")
        default: return .failed("HTTP \(status)\(message.isEmpty ? "" : ": " + message)")
        }
    }
}

extension HistoryCandle {
    /// A candle read from a REST answer, within the topic contracts' limits: its minute (`seconds` since
    /// the epoch) between 2000-01-01 and 2100-01-01, every decimal at most 38 significant digits and 18
    /// after the point, positive prices with open and close inside low...high, no negative volume.
    /// Otherwise the whole answer is refused (`invalid_timestamp`, `invalid_decimal`, `malformed_history`)
    /// and quarantined: a repair never writes a candle from numbers it cannot hold exactly.
    /// `position` names the row in the error (`row 3`).
    public static func checked(seconds: Int64, open: DecimalText, high: DecimalText, low: DecimalText, close: DecimalText,
                               volume: DecimalText, priceType: String = "trade", at position: String) throws(HistoryAnswerError) -> HistoryCandle {
        let start = seconds.multipliedClamped(by: 1_000_000_000)
        do throws(ContractLimits.Violation) {
            try ContractLimits.checkEventTime(start, field: "time")
            for (field, value) in [("open", open), ("high", high), ("low", low), ("close", close), ("volume", volume)] {
                try ContractLimits.checkDecimal(value, field: field)
            }
        } catch {
            throw HistoryAnswerError(error.reason, "\(position): \(error.detail)")
        }
        let candle = HistoryCandle(start: start, open: open, high: high, low: low, close: close, volume: volume, priceType: priceType)
        if let defect = candle.defect { throw HistoryAnswerError("malformed_history", "\(position): \(defect)") }
        return candle
    }

    /// A quote venue's minute from its bid and ask OHLC (`[open, high, low, close]` each, as written): the
    /// `bid` and `ask` candles exactly, and a `mid` candle whose open and close are the exact mids and whose
    /// high and low are the mids of the extremes (the bound bid/ask candles allow). Volume 0, as streamed
    /// quotes have.
    public static func quoteCandles(seconds: Int64, bid: [DecimalText], ask: [DecimalText], at position: String) throws(HistoryAnswerError) -> [HistoryCandle] {
        guard bid.count == 4, ask.count == 4 else { throw HistoryAnswerError("malformed_history", "\(position): bid and ask need open, high, low, close") }
        var mid: [DecimalText] = []
        for (b, a) in zip(bid, ask) {
            guard let exactBid = ExactDecimal(b), let exactAsk = ExactDecimal(a) else {
                throw HistoryAnswerError("invalid_decimal", "\(position): a bid or ask cannot be held exactly")
            }
            mid.append((exactBid + exactAsk).halved.decimalText)
        }
        let zero = DecimalText("0")!
        return [
            try checked(seconds: seconds, open: bid[0], high: bid[1], low: bid[2], close: bid[3], volume: zero, priceType: "bid", at: "\(position) bid"),
            try checked(seconds: seconds, open: ask[0], high: ask[1], low: ask[2], close: ask[3], volume: zero, priceType: "ask", at: "\(position) ask"),
            try checked(seconds: seconds, open: mid[0], high: mid[1], low: mid[2], close: mid[3], volume: zero, priceType: "mid", at: "\(position) mid"),
        ]
    }
}
