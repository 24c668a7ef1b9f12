import FXCore

/// Finnhub WebSocket feed: `{"type":"trade","data":[{"s","p","t","v","c"}...]}`, `ping`, `error`.
///
/// Every item of `data` becomes a trade tick (price exact from the JSON literal, `t` milliseconds ->
/// nanoseconds, `v` as the size; forex venues send price updates with `v` = 0, kept as size `0`), or a
/// reject of its own. Finnhub has no sequence numbers (`seq` null) and no trade ids or sides.
public struct FinnhubNormalizer: FrameNormalizer {
    public let source = "finnhub"
    let parser: JSONParser

    public init(maxFrameBytes: Int = 256 * 1024) {
        parser = JSONParser(maxDepth: 16, maxBytes: maxFrameBytes)
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        let message: JSONValue
        switch parse(frame, parser: parser) {
        case .success(let value): message = value
        case .failure(let rejected): return [rejected.event]
        }
        switch message["type"]?.stringValue {
        case "trade"?:
            guard let items = message["data"]?.arrayValue else { return [.reject(.missingField, detail: "trade without 'data' array")] }
            return items.map { trade($0, receivedAt: receivedAt) }
        case "ping"?:
            return [.control("ping")]
        case "error"?:
            return [.providerError(message["msg"]?.stringValue ?? "error without msg")]
        case let other?:
            return [.reject(.unknownType, detail: "type '\(other.prefix(40))'")]
        case nil:
            return [.reject(.missingField, detail: "no 'type'")]
        }
    }

    private func trade(_ item: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        guard let venue = item["s"]?.stringValue else { return .reject(.missingField, detail: "trade without 's'") }
        guard let symbol = SymbolMapper.finnhub(venue) else { return .reject(.unmappedSymbol, detail: "symbol '\(venue.prefix(40))'") }
        guard let price = item["p"]?.decimal else { return .reject(.invalidPrice, detail: "\(venue): 'p' missing or not a number") }
        guard price.isPositive else { return .reject(.invalidPrice, detail: "\(venue): price \(price) is not positive") }
        guard let size = item["v"]?.decimal else { return .reject(.invalidSize, detail: "\(venue): 'v' missing or not a number") }
        guard !size.isNegative else { return .reject(.invalidSize, detail: "\(venue): volume \(size) is negative") }
        guard let milliseconds = item["t"]?.int64Value, let ts = Timestamps.nanoseconds(milliseconds: milliseconds) else {
            return .reject(.invalidTimestamp, detail: "\(venue): 't' missing or not epoch milliseconds")
        }
        return .tick(Tick(source: source, symbol: symbol, venueSymbol: venue, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                          payload: .trade(price: price, size: size, side: nil, tradeID: nil)))
    }
}
