import FXContracts
import FXCore

/// Finnhub WebSocket feed: `{"type":"trade","data":[{"s","p","t","v","c"}...]}`, `ping`, `error`.
///
/// Every item of `data` becomes a trade tick (price exact from the JSON literal, `t` milliseconds ->
/// nanoseconds, `v` as the size; forex venues send price updates with `v` = 0, kept as size `0`), or a
/// reject of its own. Finnhub has no sequence numbers (`seq` null) and no trade ids or sides.
public struct FinnhubNormalizer: FrameNormalizer {
    public let source = "finnhub"
    public let maxFrameBytes: Int
    private let symbols = SymbolCache { SymbolMapper.finnhub($0) }

    public init(maxFrameBytes: Int = 256 * 1024) {
        self.maxFrameBytes = maxFrameBytes
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        guard frame.count <= maxFrameBytes else { return [Self.oversized(frame.count, limit: maxFrameBytes)] }
        let scanner = JSONScanner(frame, maxDepth: 16)
        var type: JSONScanner.Token?
        var data: JSONScanner.Token?
        var message: JSONScanner.Token?
        do {
            try scanner.forEachMember { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                if scanner.name(name, equals: "type") { type = value }
                else if scanner.name(name, equals: "data") { data = value }
                else if scanner.name(name, equals: "msg") { message = value }
            }
        } catch {
            return [Self.reject(for: error)]
        }
        switch type.flatMap(scanner.string) {
        case "trade"?:
            guard let data, data.kind == .array else { return [.reject(.missingField, detail: "trade without 'data' array")] }
            var events: [NormalizedEvent] = []
            do {
                try scanner.forEachElement(of: data) { (item: JSONScanner.Token) throws(JSONParser.Error) in
                    events.append(try trade(item, scanner, receivedAt: receivedAt))
                }
            } catch {
                return [Self.reject(for: error)]
            }
            return events
        case "ping"?:
            return [.control("ping")]
        case "error"?:
            return [.providerError(message.flatMap(scanner.string) ?? "error without msg")]
        case let other?:
            return [.reject(.unknownType, detail: "type '\(other.prefix(40))'")]
        case nil:
            return [.reject(.missingField, detail: "no 'type'")]
        }
    }

    private func trade(_ item: JSONScanner.Token, _ scanner: JSONScanner, receivedAt: Int64) throws(JSONParser.Error) -> NormalizedEvent {
        guard item.kind == .object else { return .reject(.missingField, detail: "trade item is not an object") }
        var s, p, t, v: JSONScanner.Token?
        try scanner.forEachMember(of: item) { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
            guard name.count == 1 else { return }
            if scanner.name(name, equals: "s") { s = value }
            else if scanner.name(name, equals: "p") { p = value }
            else if scanner.name(name, equals: "t") { t = value }
            else if scanner.name(name, equals: "v") { v = value }
        }
        guard let venue = s.flatMap(scanner.string) else { return .reject(.missingField, detail: "trade without 's'") }
        guard let symbol = symbols.canonical(venue) else { return .reject(.unmappedSymbol, detail: "symbol '\(venue.prefix(40))'") }
        guard let price = p.flatMap(scanner.decimal) else { return .reject(.invalidPrice, detail: "\(venue): 'p' missing or not a number") }
        guard price.isPositive else { return .reject(.invalidPrice, detail: "\(venue): price \(price) is not positive") }
        guard let size = v.flatMap(scanner.decimal) else { return .reject(.invalidSize, detail: "\(venue): 'v' missing or not a number") }
        guard !size.isNegative else { return .reject(.invalidSize, detail: "\(venue): volume \(size) is negative") }
        guard let milliseconds = t.flatMap(scanner.int64), let ts = Timestamps.nanoseconds(milliseconds: milliseconds) else {
            return .reject(.invalidTimestamp, detail: "\(venue): 't' missing or not epoch milliseconds")
        }
        return .tick(Tick(source: source, symbol: symbol, venueSymbol: venue, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                          payload: .trade(price: price, size: size, side: nil, tradeID: nil)))
    }
}
