import FXContracts
import FXCore

/// Kraken WebSocket v2 messages:
/// - `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":63348.4,"qty":0.0001,
///   "ord_type":"limit","trade_id":104622323,"timestamp":"2026-12-04T10:00:00.123456Z"}]}` -> trade ticks (the
///   side is the taker's; `trade_id` numbers each pair's trades); `type: snapshot` -> replayed trades.
/// - `{"channel":"ticker","data":[{"symbol":…,"bid":…,"bid_qty":…,"ask":…,"ask_qty":…,"timestamp"?:…}]}` -> quote
///   ticks (the receive time when Kraken gives no `timestamp`).
/// - `{"channel":"book","type":"snapshot"|"update","data":[{"symbol":…,"bids":[{"price":…,"qty":…}],"asks":[…],
///   "checksum":…,"timestamp":…}]}` -> book updates with the CRC32 to verify. Prices and quantities arrive as
///   JSON numbers: their text is kept exactly as sent (`45285.20` keeps its zero: the checksum is over the text);
///   a number in exponent form (`9.4e-05`) is written out in full.
/// - `heartbeat`, `status`, `pong` and subscribe/unsubscribe acknowledgements -> control; a refused request
///   (`success: false`) -> a provider error with Kraken's text.
public struct KrakenNormalizer: FrameNormalizer {
    public let source = "kraken"
    public let maxFrameBytes: Int
    private let symbols = SymbolCache { SymbolMapper.kraken($0) }

    public init(maxFrameBytes: Int = 1 << 20) {
        self.maxFrameBytes = maxFrameBytes
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        guard frame.count <= maxFrameBytes else { return [Self.oversized(frame.count, limit: maxFrameBytes)] }
        // Book frames, the bulk of the traffic, are read without building a tree; anything else (or a book
        // frame the fast reader does not take) goes through the tree below, which says what is wrong.
        if let events = bookFrame(frame) { return events }
        let message: JSONValue
        do {
            message = try JSONParser(maxDepth: 8, maxBytes: maxFrameBytes).parse(frame)
        } catch {
            return [Self.reject(for: error)]
        }
        if let method = message["method"]?.stringValue {
            return [acknowledgement(method, message)]
        }
        guard let channel = message["channel"]?.stringValue else {
            if let error = message["error"]?.stringValue { return [.providerError(String(error.prefix(300)))] }
            return [.reject(.missingField, detail: "neither 'channel' nor 'method'")]
        }
        let type = message["type"]?.stringValue
        switch channel {
        case "heartbeat": return [.control("heartbeat")]
        case "status": return [.control("status")]
        case "trade", "ticker", "book":
            guard let data = message["data"]?.arrayValue else { return [.reject(.missingField, detail: "\(channel) without 'data'")] }
            guard !data.isEmpty else { return [.control("\(channel): no data")] }
            return data.map { item in
                switch channel {
                case "trade": trade(item, replayed: type == "snapshot", receivedAt: receivedAt)
                case "ticker": quote(item, receivedAt: receivedAt)
                default: book(item, snapshot: type == "snapshot")
                }
            }
        default:
            return [.reject(.unknownType, detail: "channel '\(channel.prefix(40))'")]
        }
    }

    private func acknowledgement(_ method: String, _ message: JSONValue) -> NormalizedEvent {
        if message["success"]?.boolValue == false {
            let error = message["error"]?.stringValue ?? "refused without a reason"
            return .providerError("\(method.prefix(20)): \(error.prefix(300))")
        }
        return method == "subscribe" ? .control("subscriptions") : .control(String(method.prefix(20)))
    }

    private func symbol(_ item: JSONValue) -> Result<(venue: String, symbol: String), Rejected> {
        guard let venue = item["symbol"]?.stringValue else { return .failure(Rejected(.reject(.missingField, detail: "no 'symbol'"))) }
        guard let symbol = symbols.canonical(venue) else {
            return .failure(Rejected(.reject(.unmappedSymbol, detail: "symbol '\(venue.prefix(40))'")))
        }
        return .success((venue, symbol))
    }

    private func time(_ item: JSONValue, field: String = "timestamp") -> Result<Int64?, Rejected> {
        guard let value = item[field], !value.isNull else { return .success(nil) }
        guard let text = value.stringValue, let ts = Timestamps.nanoseconds(rfc3339: text) else {
            return .failure(Rejected(.reject(.invalidTimestamp, detail: "'\(field)' is not RFC 3339")))
        }
        return .success(ts)
    }

    private func trade(_ item: JSONValue, replayed: Bool, receivedAt: Int64) -> NormalizedEvent {
        let names: (venue: String, symbol: String), ts: Int64
        switch (symbol(item), time(item)) {
        case (.failure(let rejected), _), (_, .failure(let rejected)): return rejected.event
        case (.success(let found), .success(let time)):
            guard let time else { return .reject(.missingField, detail: "\(found.venue): trade without 'timestamp'") }
            names = found
            ts = time
        }
        guard let price = item["price"]?.decimal, price.isPositive else { return .reject(.invalidPrice, detail: "\(names.venue): price missing or not positive") }
        guard let size = item["qty"]?.decimal, size.isPositive else { return .reject(.invalidSize, detail: "\(names.venue): qty missing or not positive") }
        guard let tradeID = item["trade_id"]?.int64Value else { return .reject(.invalidTradeID, detail: "\(names.venue): trade_id missing or not an integer") }
        let side: Tick.Side? = switch item["side"]?.stringValue {
        case "buy": .buy
        case "sell": .sell
        default: nil
        }
        let tick = Tick(source: source, symbol: names.symbol, venueSymbol: names.venue, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                        payload: .trade(price: price, size: size, side: side, tradeID: String(tradeID)))
        return replayed ? .replayedTick(tick) : .tick(tick)
    }

    private func quote(_ item: JSONValue, receivedAt: Int64) -> NormalizedEvent {
        let names: (venue: String, symbol: String), ts: Int64
        switch (symbol(item), time(item)) {
        case (.failure(let rejected), _), (_, .failure(let rejected)): return rejected.event
        case (.success(let found), .success(let time)):
            names = found
            ts = time ?? receivedAt
        }
        var prices: [DecimalText?] = []
        for field in ["bid", "ask"] {
            guard let value = item[field], !value.isNull else { prices.append(nil); continue }
            guard let price = value.decimal, price.isPositive else { return .reject(.invalidPrice, detail: "\(names.venue): \(field) is not a positive decimal") }
            prices.append(price)
        }
        guard prices[0] != nil || prices[1] != nil else { return .reject(.missingField, detail: "\(names.venue): ticker without bid or ask") }
        var sizes: [DecimalText?] = []
        for field in ["bid_qty", "ask_qty"] {
            let size = item[field]?.decimal
            if let size, size.isNegative { return .reject(.invalidSize, detail: "\(names.venue): \(field) is negative") }
            sizes.append(size)
        }
        return .tick(Tick(source: source, symbol: names.symbol, venueSymbol: names.venue, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                          payload: .quote(bid: prices[0], ask: prices[1], bidSize: sizes[0], askSize: sizes[1])))
    }

    private func book(_ item: JSONValue, snapshot: Bool) -> NormalizedEvent {
        let venue: String, ts: Int64?
        switch (symbol(item), time(item)) {
        case (.failure(let rejected), _), (_, .failure(let rejected)): return rejected.event
        case (.success(let found), .success(let time)):
            venue = found.venue
            ts = time
        }
        var sides: [[BookLevel]] = []
        for field in ["bids", "asks"] {
            guard let entries = item[field]?.arrayValue ?? (snapshot ? nil : []) else {
                return .reject(.missingField, detail: "\(venue): book snapshot without '\(field)'")
            }
            var levels: [BookLevel] = []
            levels.reserveCapacity(entries.count)
            for entry in entries {
                guard let price = entry["price"]?.levelText, let quantity = entry["qty"]?.levelText else {
                    return .reject(.invalidPrice, detail: "\(venue): a \(field) level without a numeric price and qty")
                }
                levels.append(BookLevel(price: price, quantity: quantity))
            }
            sides.append(levels)
        }
        var checksum: (kind: BookChecksum.Kind, value: UInt32)?
        if let value = item["checksum"], !value.isNull {
            guard let number = value.int64Value, let crc = UInt32(exactly: number) else {
                return .reject(.invalidDecimal, detail: "\(venue): checksum is not an unsigned 32-bit integer")
            }
            checksum = (.krakenCRC32, crc)
        }
        return .book(BookUpdate(venueSymbol: venue, kind: snapshot ? .snapshot : .update, bids: sides[0], asks: sides[1],
                                checksum: checksum, timestamp: ts))
    }

    // MARK: Book frames without a tree

    /// A `book` frame read with ``JSONScanner``; nil when the frame is not a well-formed book frame (the tree
    /// reader then handles it and names the problem).
    private func bookFrame(_ frame: [UInt8]) -> [NormalizedEvent]? {
        let scanner = JSONScanner(frame, maxDepth: 8)
        var channel: JSONScanner.Token?, type: JSONScanner.Token?, data: JSONScanner.Token?
        do {
            try scanner.forEachMember { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                switch name.count {
                case 4:
                    if scanner.name(name, equals: "type") { type = value } else if scanner.name(name, equals: "data") { data = value }
                case 7: if scanner.name(name, equals: "channel") { channel = value }
                default: break
                }
            }
        } catch {
            return nil
        }
        guard let channel, scanner.name(channel.range, equals: "book"), let data, data.kind == .array else { return nil }
        let snapshot = type.map { scanner.name($0.range, equals: "snapshot") } ?? false
        var events: [NormalizedEvent] = []
        do {
            try scanner.forEachElement(of: data) { (item: JSONScanner.Token) throws(JSONParser.Error) in
                events.append(book(item, scanner, snapshot: snapshot) ?? .reject(.missingField, detail: "book data that is not an object"))
            }
        } catch {
            return nil
        }
        return events.contains { if case .reject = $0 { true } else { false } } ? nil : (events.isEmpty ? nil : events)
    }

    private func book(_ item: JSONScanner.Token, _ scanner: JSONScanner, snapshot: Bool) -> NormalizedEvent? {
        guard item.kind == .object else { return nil }
        var symbolToken: JSONScanner.Token?, bidsToken: JSONScanner.Token?, asksToken: JSONScanner.Token?
        var checksumToken: JSONScanner.Token?, timestampToken: JSONScanner.Token?
        do {
            try scanner.forEachMember(of: item) { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                switch name.count {
                case 4:
                    if scanner.name(name, equals: "bids") { bidsToken = value } else if scanner.name(name, equals: "asks") { asksToken = value }
                case 6: if scanner.name(name, equals: "symbol") { symbolToken = value }
                case 8: if scanner.name(name, equals: "checksum") { checksumToken = value }
                case 9: if scanner.name(name, equals: "timestamp") { timestampToken = value }
                default: break
                }
            }
        } catch {
            return nil
        }
        guard let venue = symbolToken.flatMap(scanner.string), symbols.canonical(venue) != nil else { return nil }
        var ts: Int64?
        if let token = timestampToken, token.kind != .null {
            guard let parsed = scanner.timestamp(token) else { return nil }
            ts = parsed
        }
        var sides: [[BookLevel]] = [[], []]
        for (index, token) in [bidsToken, asksToken].enumerated() {
            guard let token else {
                if snapshot { return nil }
                continue
            }
            guard token.kind == .array, let levels = Self.levels(token, scanner) else { return nil }
            sides[index] = levels
        }
        var checksum: (kind: BookChecksum.Kind, value: UInt32)?
        if let token = checksumToken, token.kind != .null {
            guard let number = scanner.int64(token), let crc = UInt32(exactly: number) else { return nil }
            checksum = (.krakenCRC32, crc)
        }
        return .book(BookUpdate(venueSymbol: venue, kind: snapshot ? .snapshot : .update, bids: sides[0], asks: sides[1],
                                checksum: checksum, timestamp: ts))
    }

    /// `[{"price":…,"qty":…},…]` with each number's own text (an exponent written out in full).
    private static func levels(_ array: JSONScanner.Token, _ scanner: JSONScanner) -> [BookLevel]? {
        var levels: [BookLevel] = []
        var bad = false
        do {
            try scanner.forEachElement(of: array) { (entry: JSONScanner.Token) throws(JSONParser.Error) in
                guard entry.kind == .object else { bad = true; return }
                var price: String?, quantity: String?
                try scanner.forEachMember(of: entry) { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                    if name.count == 5, scanner.name(name, equals: "price") { price = text(value, scanner) }
                    else if name.count == 3, scanner.name(name, equals: "qty") { quantity = text(value, scanner) }
                }
                guard let price, let quantity else { bad = true; return }
                levels.append(BookLevel(price: price, quantity: quantity))
            }
        } catch {
            return nil
        }
        return bad ? nil : levels
    }

    private static func text(_ token: JSONScanner.Token, _ scanner: JSONScanner) -> String? {
        switch token.kind {
        case .number:
            let bytes = scanner.bytes[token.range]
            if bytes.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                return DecimalText(jsonNumber: bytes)?.description
            }
            return String(decoding: bytes, as: UTF8.self)
        case .string(escaped: false): return String(decoding: scanner.bytes[token.range], as: UTF8.self)
        default: return nil
        }
    }
}
