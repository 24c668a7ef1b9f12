import FXContracts
import FXCore

/// Binance spot market stream events, raw (`/ws`) or wrapped by a combined stream (`/stream`:
/// `{"stream":"btcusdt@trade","data":{…}}`):
/// - `{"e":"trade","E":…,"s":"BTCUSDT","t":12345,"p":"0.001","q":"100","T":…,"m":true}` -> a trade tick (`m`:
///   the buyer was the maker, so the taker sold; `t` numbers each symbol's trades).
/// - `{"u":400900217,"s":"BNBUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}` (bookTicker) -> a quote tick
///   at the receive time (Binance gives it none).
/// - `{"e":"depthUpdate","E":…,"s":…,"U":157,"u":160,"b":[["0.0024","10"]],"a":[…]}` -> book changes with their
///   update ids, for ``BinanceDepthSync``; quantities are absolute, `"0.00000000"` deletes.
/// - `{"result":null,"id":1}` -> control (a subscription acknowledged); `{"code":…,"msg":…}` or
///   `{"error":{"code":…,"msg":…}}` -> a provider error; `serverShutdown` -> reconnect now.
/// Prices and quantities are strings and stay the venue's text.
public struct BinanceNormalizer: FrameNormalizer {
    public let source = "binance"
    public let maxFrameBytes: Int
    private let symbols = SymbolCache { SymbolMapper.binance($0) }

    public init(maxFrameBytes: Int = 1 << 20) {
        self.maxFrameBytes = maxFrameBytes
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        guard frame.count <= maxFrameBytes else { return [Self.oversized(frame.count, limit: maxFrameBytes)] }
        let message: JSONValue
        do {
            message = try JSONParser(maxDepth: 8, maxBytes: maxFrameBytes).parse(frame)
        } catch {
            return [Self.reject(for: error)]
        }
        guard case .object = message else { return [.reject(.malformedJSON, detail: "not a JSON object")] }
        if let data = message["data"], message["stream"] != nil {
            guard case .object = data else { return [.reject(.missingField, detail: "combined stream event without an object 'data'")] }
            return [event(data, receivedAt: receivedAt)]
        }
        if message["id"] != nil, let result = message["result"] {
            return [result.isNull ? .control("subscriptions") : .control("result")]
        }
        if let error = message["error"] {
            return [.providerError(Self.errorText(error))]
        }
        if message["code"] != nil, message["msg"] != nil, message["e"] == nil {
            return [.providerError(Self.errorText(message))]
        }
        return [event(message, receivedAt: receivedAt)]
    }

    static func errorText(_ error: JSONValue) -> String {
        let code = error["code"]?.int64Value.map { "code \($0): " } ?? ""
        return String((code + (error["msg"]?.stringValue ?? "error without message")).prefix(300))
    }

    private func event(_ data: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        switch data["e"]?.stringValue {
        case "trade": return trade(data, receivedAt: receivedAt)
        case "depthUpdate": return depth(data)
        case "serverShutdown": return .reconnect("the venue announced a server shutdown (serverShutdown)")
        case nil:
            if data["event"]?.stringValue == "serverShutdown" { return .reconnect("the venue announced a server shutdown (serverShutdown)") }
            if data["u"] != nil, data["b"] != nil, data["a"] != nil { return quote(data, receivedAt: receivedAt) }
            return .reject(.missingField, detail: "an event without 'e'")
        case let other?:
            return .reject(.unknownType, detail: "event '\(other.prefix(40))'")
        }
    }

    private func symbol(_ data: JSONValue) -> Result<(venue: String, symbol: String), Rejected> {
        guard let venue = data["s"]?.stringValue else { return .failure(Rejected(.reject(.missingField, detail: "no 's' (symbol)"))) }
        guard let symbol = symbols.canonical(venue) else {
            return .failure(Rejected(.reject(.unmappedSymbol, detail: "symbol '\(venue.prefix(40))'")))
        }
        return .success((venue, symbol))
    }

    /// A millisecond time field as nanoseconds.
    private static func milliseconds(_ value: JSONValue?) -> Int64? {
        guard let ms = value?.int64Value, ms > 0, ms < Int64.max / 1_000_000 else { return nil }
        return ms * 1_000_000
    }

    private func trade(_ data: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        let names: (venue: String, symbol: String)
        switch symbol(data) {
        case .failure(let rejected): return rejected.event
        case .success(let found): names = found
        }
        guard let ts = Self.milliseconds(data["T"]) ?? Self.milliseconds(data["E"]) else {
            return .reject(.invalidTimestamp, detail: "\(names.venue): trade without a millisecond 'T'")
        }
        guard let price = data["p"]?.decimal, price.isPositive else { return .reject(.invalidPrice, detail: "\(names.venue): 'p' missing or not positive") }
        guard let size = data["q"]?.decimal, size.isPositive else { return .reject(.invalidSize, detail: "\(names.venue): 'q' missing or not positive") }
        guard let tradeID = data["t"]?.int64Value else { return .reject(.invalidTradeID, detail: "\(names.venue): 't' missing or not an integer") }
        let side: Tick.Side? = switch data["m"]?.boolValue {
        case true: .sell
        case false: .buy
        default: nil
        }
        return .tick(Tick(source: source, symbol: names.symbol, venueSymbol: names.venue, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                          payload: .trade(price: price, size: size, side: side, tradeID: String(tradeID))))
    }

    private func quote(_ data: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        let names: (venue: String, symbol: String)
        switch symbol(data) {
        case .failure(let rejected): return rejected.event
        case .success(let found): names = found
        }
        var values: [DecimalText?] = []
        for field in ["b", "a", "B", "A"] {
            guard let value = data[field], !value.isNull else { values.append(nil); continue }
            guard let decimal = value.decimal, !decimal.isNegative else {
                return .reject(field == "b" || field == "a" ? .invalidPrice : .invalidSize, detail: "\(names.venue): '\(field)' is not a decimal")
            }
            values.append(decimal)
        }
        // An empty side is sent as price 0: no quote on that side.
        let bid = values[0].flatMap { $0.isPositive ? $0 : nil }, ask = values[1].flatMap { $0.isPositive ? $0 : nil }
        guard bid != nil || ask != nil else { return .reject(.missingField, detail: "\(names.venue): bookTicker without a bid or an ask") }
        return .tick(Tick(source: source, symbol: names.symbol, venueSymbol: names.venue, timestamp: receivedAt, receivedAt: receivedAt,
                          sequence: nil, payload: .quote(bid: bid, ask: ask, bidSize: bid == nil ? nil : values[2], askSize: ask == nil ? nil : values[3])))
    }

    private func depth(_ data: JSONValue) -> NormalizedEvent {
        let venue: String
        switch symbol(data) {
        case .failure(let rejected): return rejected.event
        case .success(let found): venue = found.venue
        }
        guard let first = data["U"]?.int64Value, let last = data["u"]?.int64Value, first <= last else {
            return .reject(.invalidSequence, detail: "\(venue): depthUpdate without update ids U <= u")
        }
        let bids: [BookLevel], asks: [BookLevel]
        switch (Self.levels(data["b"]), Self.levels(data["a"])) {
        case (.success(let b), .success(let a)):
            bids = b
            asks = a
        case (.failure(let detail), _), (_, .failure(let detail)):
            return .reject(.invalidPrice, detail: "\(venue): \(detail)")
        }
        return .book(BookUpdate(venueSymbol: venue, kind: .update, bids: bids, asks: asks, firstUpdateID: first, lastUpdateID: last,
                                timestamp: Self.milliseconds(data["E"])))
    }

    struct LevelError: Error { let detail: String }

    /// `[["price","qty"],…]` as levels (the venue's text; checked when applied).
    static func levels(_ value: JSONValue?) -> Result<[BookLevel], LevelError> {
        guard let entries = value?.arrayValue else { return .failure(LevelError(detail: "levels missing or not an array")) }
        var levels: [BookLevel] = []
        levels.reserveCapacity(entries.count)
        for entry in entries {
            guard let pair = entry.arrayValue, pair.count >= 2, let price = pair[0].levelText,
                  let quantity = pair[1].levelText else {
                return .failure(LevelError(detail: "a level that is not [price, quantity]"))
            }
            levels.append(BookLevel(price: price, quantity: quantity))
        }
        return .success(levels)
    }

    /// A REST depth snapshot: `{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[…]}`.
    static func depthSnapshot(venueSymbol: String, body: [UInt8]) throws(ProviderError) -> BookUpdate {
        let document: JSONValue
        do {
            document = try JSONParser(maxDepth: 8, maxBytes: 64 << 20).parse(body)
        } catch {
            throw ProviderError(.invalidSetting, provider: "binance", "depth snapshot of \(venueSymbol) is not JSON: \(error)")
        }
        if document["code"] != nil, document["msg"] != nil {
            throw ProviderError(.invalidSymbol, provider: "binance", "depth snapshot of \(venueSymbol) refused: \(errorText(document))")
        }
        guard let lastUpdateID = document["lastUpdateId"]?.int64Value else {
            throw ProviderError(.invalidSetting, provider: "binance", "depth snapshot of \(venueSymbol) without 'lastUpdateId'")
        }
        switch (levels(document["bids"]), levels(document["asks"])) {
        case (.success(let bids), .success(let asks)):
            return BookUpdate(venueSymbol: venueSymbol, kind: .snapshot, bids: bids, asks: asks, firstUpdateID: lastUpdateID, lastUpdateID: lastUpdateID)
        case (.failure(let error), _), (_, .failure(let error)):
            throw ProviderError(.invalidSetting, provider: "binance", "depth snapshot of \(venueSymbol): \(error.detail)")
        }
    }
}
