import FXContracts
import FXCore

/// Coinbase Exchange WebSocket feed (`matches`, `ticker`, `heartbeat` channels).
///
/// - `match` -> trade ticks; `last_match` (sent once on subscribe) -> a replayed trade tick. Coinbase's `side` is the **maker's** side, so the taker
///   side in the tick is the opposite (maker `sell` -> taker `buy`).
/// - `ticker` -> quote ticks (best bid/ask and sizes).
/// - `heartbeat` -> heartbeats with `sequence` and `last_trade_id`.
/// - `snapshot` (`bids`/`asks` as `[["price","size"],…]`) and `l2update` (`changes` as `[["buy"|"sell","price","size"],…]`,
///   sizes absolute, `"0"` deletes) from `level2_batch` -> book updates (the venue's text kept).
/// - `subscriptions` -> control; `error` -> provider error; anything else -> reject `unknown_type`.
///
/// Frames are read with ``JSONScanner``: only the fields used here are materialized.
public struct CoinbaseNormalizer: FrameNormalizer {
    public let source = "coinbase"
    public let maxFrameBytes: Int
    private let symbols = SymbolCache { SymbolMapper.coinbase($0) }

    public init(maxFrameBytes: Int = 64 * 1024) {
        self.maxFrameBytes = maxFrameBytes
    }

    /// The members this normalizer reads.
    private struct Fields {
        var type, productID, time, sequence, price, size, side, tradeID, lastTradeID: JSONScanner.Token?
        var bestBid, bestAsk, bestBidSize, bestAskSize, message, reason: JSONScanner.Token?
        var bids, asks, changes: JSONScanner.Token?
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        guard frame.count <= maxFrameBytes else { return [Self.oversized(frame.count, limit: maxFrameBytes)] }
        let scanner = JSONScanner(frame, maxDepth: 16)
        var f = Fields()
        do {
            try scanner.forEachMember { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                switch name.count {
                case 4:
                    if scanner.name(name, equals: "type") { f.type = value }
                    else if scanner.name(name, equals: "time") { f.time = value }
                    else if scanner.name(name, equals: "size") { f.size = value }
                    else if scanner.name(name, equals: "side") { f.side = value }
                    else if scanner.name(name, equals: "bids") { f.bids = value }
                    else if scanner.name(name, equals: "asks") { f.asks = value }
                case 5: if scanner.name(name, equals: "price") { f.price = value }
                case 6: if scanner.name(name, equals: "reason") { f.reason = value }
                case 7:
                    if scanner.name(name, equals: "message") { f.message = value }
                    else if scanner.name(name, equals: "changes") { f.changes = value }
                case 8:
                    if scanner.name(name, equals: "sequence") { f.sequence = value }
                    else if scanner.name(name, equals: "trade_id") { f.tradeID = value }
                    else if scanner.name(name, equals: "best_bid") { f.bestBid = value }
                    else if scanner.name(name, equals: "best_ask") { f.bestAsk = value }
                case 10: if scanner.name(name, equals: "product_id") { f.productID = value }
                case 13:
                    if scanner.name(name, equals: "last_trade_id") { f.lastTradeID = value }
                    else if scanner.name(name, equals: "best_bid_size") { f.bestBidSize = value }
                    else if scanner.name(name, equals: "best_ask_size") { f.bestAskSize = value }
                default: break
                }
            }
        } catch {
            return [Self.reject(for: error)]
        }
        guard let typeToken = f.type, let type = scanner.string(typeToken) else {
            return [.reject(.missingField, detail: "no 'type'")]
        }
        switch type {
        case "match": return [trade(f, scanner, receivedAt: receivedAt)]
        case "last_match":
            let event = trade(f, scanner, receivedAt: receivedAt)
            if case .tick(let tick) = event { return [.replayedTick(tick)] }
            return [event]
        case "ticker": return [quote(f, scanner, receivedAt: receivedAt)]
        case "heartbeat": return [heartbeat(f, scanner)]
        case "snapshot": return [book(f, scanner, snapshot: true)]
        case "l2update": return [book(f, scanner, snapshot: false)]
        case "subscriptions": return [.control("subscriptions")]
        case "error":
            let text = [f.message, f.reason].compactMap { $0.flatMap(scanner.string) }.joined(separator: ": ")
            return [.providerError(text.isEmpty ? "error without message" : text)]
        default:
            return [.reject(.unknownType, detail: "type '\(type.prefix(40))'")]
        }
    }

    private struct Common {
        var venue: String
        var symbol: String
        var ts: Int64
        var seq: Int64?
    }

    private func common(_ f: Fields, _ scanner: JSONScanner) -> Result<Common, Rejected> {
        guard let venue = f.productID.flatMap(scanner.string) else {
            return .failure(Rejected(.reject(.missingField, detail: "no 'product_id'")))
        }
        guard let symbol = symbols.canonical(venue) else {
            return .failure(Rejected(.reject(.unmappedSymbol, detail: "product '\(venue.prefix(40))'")))
        }
        guard let time = f.time, case .string = time.kind else {
            return .failure(Rejected(.reject(.missingField, detail: "no 'time'")))
        }
        guard let ts = scanner.timestamp(time) else {
            return .failure(Rejected(.reject(.invalidTimestamp, detail: "time '\((scanner.string(time) ?? "").prefix(40))'")))
        }
        return .success(Common(venue: venue, symbol: symbol, ts: ts, seq: f.sequence.flatMap(scanner.int64)))
    }

    private func trade(_ f: Fields, _ scanner: JSONScanner, receivedAt: Int64) -> NormalizedEvent {
        let base: Common
        switch common(f, scanner) {
        case .success(let value): base = value
        case .failure(let rejected): return rejected.event
        }
        guard let price = f.price.flatMap(scanner.decimal) else { return .reject(.invalidPrice, detail: "price missing or not a decimal") }
        guard price.isPositive else { return .reject(.invalidPrice, detail: "price \(price) is not positive") }
        guard let size = f.size.flatMap(scanner.decimal) else { return .reject(.invalidSize, detail: "size missing or not a decimal") }
        guard size.isPositive else { return .reject(.invalidSize, detail: "size \(size) is not positive") }
        let taker: Tick.Side? = switch f.side.flatMap(scanner.string) {
        case "sell": .buy
        case "buy": .sell
        default: nil
        }
        return .tick(Tick(source: source, symbol: base.symbol, venueSymbol: base.venue, timestamp: base.ts, receivedAt: receivedAt,
                          sequence: base.seq,
                          payload: .trade(price: price, size: size, side: taker, tradeID: f.tradeID.flatMap(scanner.text))))
    }

    private func quote(_ f: Fields, _ scanner: JSONScanner, receivedAt: Int64) -> NormalizedEvent {
        let base: Common
        switch common(f, scanner) {
        case .success(let value): base = value
        case .failure(let rejected): return rejected.event
        }
        var prices: [DecimalText?] = []
        for (name, token) in [("best_bid", f.bestBid), ("best_ask", f.bestAsk)] {
            guard let token, token.kind != .null else { prices.append(nil); continue }
            guard let value = scanner.decimal(token) else { return .reject(.invalidPrice, detail: "\(name) is not a decimal") }
            guard value.isPositive else { return .reject(.invalidPrice, detail: "\(name) \(value) is not positive") }
            prices.append(value)
        }
        guard prices[0] != nil || prices[1] != nil else { return .reject(.missingField, detail: "ticker without best_bid or best_ask") }
        var sizes: [DecimalText?] = []
        for (name, token) in [("best_bid_size", f.bestBidSize), ("best_ask_size", f.bestAskSize)] {
            let value = token.flatMap(scanner.decimal)
            if let value, value.isNegative { return .reject(.invalidSize, detail: "\(name) \(value) is negative") }
            sizes.append(value)
        }
        return .tick(Tick(source: source, symbol: base.symbol, venueSymbol: base.venue, timestamp: base.ts, receivedAt: receivedAt,
                          sequence: base.seq, payload: .quote(bid: prices[0], ask: prices[1], bidSize: sizes[0], askSize: sizes[1])))
    }

    /// A `level2_batch` message as a book update.
    private func book(_ f: Fields, _ scanner: JSONScanner, snapshot: Bool) -> NormalizedEvent {
        guard let venue = f.productID.flatMap(scanner.string) else { return .reject(.missingField, detail: "no 'product_id'") }
        guard symbols.canonical(venue) != nil else { return .reject(.unmappedSymbol, detail: "product '\(venue.prefix(40))'") }
        var ts: Int64?
        if let token = f.time, token.kind != .null {
            guard let parsed = scanner.timestamp(token) else {
                return .reject(.invalidTimestamp, detail: "\(venue): time is not RFC 3339")
            }
            ts = parsed
        }
        var bids: [BookLevel] = [], asks: [BookLevel] = []
        do throws(JSONParser.Error) {
            if snapshot {
                guard let bidsToken = f.bids, bidsToken.kind == .array, let asksToken = f.asks, asksToken.kind == .array else {
                    return .reject(.missingField, detail: "\(venue): snapshot without 'bids' and 'asks' arrays")
                }
                for (token, side) in [(bidsToken, 0), (asksToken, 1)] {
                    var bad = false
                    try scanner.forEachElement(of: token) { entry throws(JSONParser.Error) in
                        let texts = Self.texts(entry, scanner)
                        guard texts.count >= 2 else { bad = true; return }
                        let level = BookLevel(price: texts[0], quantity: texts[1])
                        if side == 0 { bids.append(level) } else { asks.append(level) }
                    }
                    if bad { return .reject(.invalidPrice, detail: "\(venue): a snapshot level that is not [price, size]") }
                }
            } else {
                guard let changes = f.changes, changes.kind == .array else { return .reject(.missingField, detail: "\(venue): l2update without 'changes'") }
                var bad = false
                try scanner.forEachElement(of: changes) { entry throws(JSONParser.Error) in
                    let texts = Self.texts(entry, scanner)
                    guard texts.count >= 3 else { bad = true; return }
                    switch texts[0] {
                    case "buy": bids.append(BookLevel(price: texts[1], quantity: texts[2]))
                    case "sell": asks.append(BookLevel(price: texts[1], quantity: texts[2]))
                    default: bad = true
                    }
                }
                if bad { return .reject(.invalidPrice, detail: "\(venue): a change that is not [buy|sell, price, size]") }
            }
        } catch {
            return Self.reject(for: error)
        }
        return .book(BookUpdate(venueSymbol: venue, kind: snapshot ? .snapshot : .update, bids: bids, asks: asks, timestamp: ts))
    }

    /// The texts of an array of strings or numbers (empty when `token` is not one).
    private static func texts(_ token: JSONScanner.Token, _ scanner: JSONScanner) -> [String] {
        guard token.kind == .array else { return [] }
        var texts: [String] = []
        do throws(JSONParser.Error) {
            try scanner.forEachElement(of: token) { element throws(JSONParser.Error) in
                if let text = scanner.text(element), element.kind != .null { texts.append(text) }
            }
        } catch {
            return []
        }
        return texts
    }

    private func heartbeat(_ f: Fields, _ scanner: JSONScanner) -> NormalizedEvent {
        guard let venue = f.productID.flatMap(scanner.string) else { return .reject(.missingField, detail: "no 'product_id'") }
        return .heartbeat(venueSymbol: venue, sequence: f.sequence.flatMap(scanner.int64), lastTradeID: f.lastTradeID.flatMap(scanner.text),
                          timestamp: f.time.flatMap(scanner.timestamp))
    }
}
