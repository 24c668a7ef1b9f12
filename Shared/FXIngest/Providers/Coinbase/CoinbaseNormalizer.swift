import FXCore

/// Coinbase Exchange WebSocket feed (`matches`, `ticker`, `heartbeat` channels).
///
/// - `match` / `last_match` -> trade ticks. Coinbase's `side` is the **maker's** side, so the taker
///   side in the tick is the opposite (maker `sell` -> taker `buy`).
/// - `ticker` -> quote ticks (best bid/ask and sizes).
/// - `heartbeat` -> heartbeats with `sequence` and `last_trade_id`.
/// - `subscriptions` -> control; `error` -> provider error; anything else -> reject `unknown_type`.
public struct CoinbaseNormalizer: FrameNormalizer {
    public let source = "coinbase"
    let parser: JSONParser

    public init(maxFrameBytes: Int = 64 * 1024) {
        parser = JSONParser(maxDepth: 16, maxBytes: maxFrameBytes)
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        let message: JSONValue
        switch parse(frame, parser: parser) {
        case .success(let value): message = value
        case .failure(let rejected): return [rejected.event]
        }
        guard let type = message["type"]?.stringValue else {
            return [.reject(.missingField, detail: "no 'type'")]
        }
        switch type {
        case "match", "last_match": return [trade(message, receivedAt: receivedAt)]
        case "ticker": return [quote(message, receivedAt: receivedAt)]
        case "heartbeat": return [heartbeat(message)]
        case "subscriptions": return [.control("subscriptions")]
        case "error":
            let text = [message["message"]?.stringValue, message["reason"]?.stringValue].compactMap { $0 }.joined(separator: ": ")
            return [.providerError(text.isEmpty ? "error without message" : text)]
        default:
            return [.reject(.unknownType, detail: "type '\(type.prefix(40))'")]
        }
    }

    private func common(_ message: JSONValue) -> Result<(venue: String, symbol: String, ts: Int64, seq: Int64?), Rejected> {
        guard let venue = message["product_id"]?.stringValue else { return .failure(Rejected(.reject(.missingField, detail: "no 'product_id'"))) }
        guard let symbol = SymbolMapper.coinbase(venue) else {
            return .failure(Rejected(.reject(.unmappedSymbol, detail: "product '\(venue.prefix(40))'")))
        }
        guard let time = message["time"]?.stringValue else { return .failure(Rejected(.reject(.missingField, detail: "no 'time'"))) }
        guard let ts = Timestamps.nanoseconds(rfc3339: time) else {
            return .failure(Rejected(.reject(.invalidTimestamp, detail: "time '\(time.prefix(40))'")))
        }
        return .success((venue, symbol, ts, message["sequence"]?.int64Value))
    }

    private func trade(_ message: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        let base: (venue: String, symbol: String, ts: Int64, seq: Int64?)
        switch common(message) {
        case .success(let value): base = value
        case .failure(let rejected): return rejected.event
        }
        guard let price = message["price"]?.decimal else { return .reject(.invalidPrice, detail: "price missing or not a decimal") }
        guard price.isPositive else { return .reject(.invalidPrice, detail: "price \(price) is not positive") }
        guard let size = message["size"]?.decimal else { return .reject(.invalidSize, detail: "size missing or not a decimal") }
        guard size.isPositive else { return .reject(.invalidSize, detail: "size \(size) is not positive") }
        let taker: Tick.Side? = switch message["side"]?.stringValue {
        case "sell": .buy
        case "buy": .sell
        default: nil
        }
        let tradeID: String? = switch message["trade_id"] {
        case .number(let literal)?: literal
        case .string(let text)?: text
        default: nil
        }
        return .tick(Tick(source: source, symbol: base.symbol, venueSymbol: base.venue, timestamp: base.ts, receivedAt: receivedAt,
                          sequence: base.seq, payload: .trade(price: price, size: size, side: taker, tradeID: tradeID)))
    }

    private func quote(_ message: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        let base: (venue: String, symbol: String, ts: Int64, seq: Int64?)
        switch common(message) {
        case .success(let value): base = value
        case .failure(let rejected): return rejected.event
        }
        let bid = message["best_bid"]?.decimal
        let ask = message["best_ask"]?.decimal
        for (name, value) in [("best_bid", bid), ("best_ask", ask)] {
            if let value, !value.isPositive { return .reject(.invalidPrice, detail: "\(name) \(value) is not positive") }
            if value == nil, let raw = message[name], !raw.isNull {
                return .reject(.invalidPrice, detail: "\(name) is not a decimal")
            }
        }
        guard bid != nil || ask != nil else { return .reject(.missingField, detail: "ticker without best_bid or best_ask") }
        let bidSize = message["best_bid_size"]?.decimal
        let askSize = message["best_ask_size"]?.decimal
        for (name, value) in [("best_bid_size", bidSize), ("best_ask_size", askSize)] {
            if let value, value.isNegative { return .reject(.invalidSize, detail: "\(name) \(value) is negative") }
        }
        return .tick(Tick(source: source, symbol: base.symbol, venueSymbol: base.venue, timestamp: base.ts, receivedAt: receivedAt,
                          sequence: base.seq, payload: .quote(bid: bid, ask: ask, bidSize: bidSize, askSize: askSize)))
    }

    private func heartbeat(_ message: JSONValue) -> NormalizedEvent {
        guard let venue = message["product_id"]?.stringValue else { return .reject(.missingField, detail: "no 'product_id'") }
        let lastTradeID: String? = switch message["last_trade_id"] {
        case .number(let literal)?: literal
        case .string(let text)?: text
        default: nil
        }
        return .heartbeat(venueSymbol: venue, sequence: message["sequence"]?.int64Value, lastTradeID: lastTradeID,
                          timestamp: message["time"]?.stringValue.flatMap { Timestamps.nanoseconds(rfc3339: $0) })
    }
}
