import FXContracts
import FXCore

/// One line of OANDA's v20 pricing stream:
/// - `{"type":"PRICE","instrument":"EUR_USD","time":"2026-12-04T10:00:00.123456789Z","tradeable":true,
///   "bids":[{"price":"1.09177","liquidity":10000000}],"asks":[...],"closeoutBid":"...","closeoutAsk":"..."}`
///   -> a quote tick: the best (highest) bid and best (lowest) ask with their liquidity as sizes, exact
///   decimals from the price strings, `time` to the nanosecond; no sequence (OANDA has none).
/// - `tradeable: false` -> the market is closed (a `marketState` event, no tick: the price of a closed
///   market is not a quote anyone can deal on); the next tradeable price reopens it.
/// - `{"type":"HEARTBEAT","time":"..."}` -> proof that the stream is alive (about every 5 s).
/// Anything else is a reject with its reason.
public struct OandaNormalizer: FrameNormalizer {
    public let source = "oanda"
    public let maxFrameBytes: Int
    private let symbols = SymbolCache { OandaProvider().canonicalSymbol($0) }

    public init(maxFrameBytes: Int = 64 * 1024) {
        self.maxFrameBytes = maxFrameBytes
    }

    public func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent] {
        guard frame.count <= maxFrameBytes else { return [Self.oversized(frame.count, limit: maxFrameBytes)] }
        let scanner = JSONScanner(frame, maxDepth: 8)
        var type, instrument, time, tradeable, bids, asks: JSONScanner.Token?
        do {
            try scanner.forEachMember { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                if scanner.name(name, equals: "type") { type = value }
                else if scanner.name(name, equals: "instrument") { instrument = value }
                else if scanner.name(name, equals: "time") { time = value }
                else if scanner.name(name, equals: "tradeable") { tradeable = value }
                else if scanner.name(name, equals: "bids") { bids = value }
                else if scanner.name(name, equals: "asks") { asks = value }
            }
        } catch {
            return [Self.reject(for: error)]
        }
        switch type.flatMap(scanner.string) {
        case "PRICE"?:
            do {
                return try price(scanner, instrument: instrument, time: time, tradeable: tradeable, bids: bids, asks: asks, receivedAt: receivedAt)
            } catch {
                return [Self.reject(for: error)]
            }
        case "HEARTBEAT"?:
            return [.control("heartbeat")]
        case let other?:
            return [.reject(.unknownType, detail: "type '\(other.prefix(40))'")]
        case nil:
            return [.reject(.missingField, detail: "no 'type'")]
        }
    }

    private func price(_ scanner: JSONScanner, instrument: JSONScanner.Token?, time: JSONScanner.Token?, tradeable: JSONScanner.Token?,
                       bids: JSONScanner.Token?, asks: JSONScanner.Token?, receivedAt: Int64) throws(JSONParser.Error) -> [NormalizedEvent] {
        guard let venue = instrument.flatMap(scanner.string) else { return [.reject(.missingField, detail: "PRICE without 'instrument'")] }
        guard let symbol = symbols.canonical(venue) else {
            return [.reject(.unmappedSymbol, detail: "instrument '\(venue.prefix(40))'")]
        }
        guard let ts = time.flatMap(scanner.timestamp) else {
            return [.reject(.invalidTimestamp, detail: "\(venue): 'time' missing or not RFC 3339")]
        }
        if let tradeable, tradeable.kind == .bool(false) {
            return [.marketState(venueSymbol: venue, open: false, reason: "not tradeable (OANDA)", timestamp: ts)]
        }
        let bid = try best(bids, scanner, higher: true)
        let ask = try best(asks, scanner, higher: false)
        switch (bid, ask) {
        case (.failure(let reason), _), (_, .failure(let reason)):
            return [.reject(.invalidPrice, detail: "\(venue): \(reason)")]
        case (.success(let bid), .success(let ask)):
            guard bid != nil || ask != nil else { return [.reject(.missingField, detail: "\(venue): PRICE without bids or asks")] }
            if let bid, let ask, ask.price < bid.price {
                return [.reject(.invalidPrice, detail: "\(venue): crossed quote, ask \(ask.price) < bid \(bid.price)")]
            }
            let tick = Tick(source: source, symbol: symbol, venueSymbol: venue, timestamp: ts, receivedAt: receivedAt, sequence: nil,
                            payload: .quote(bid: bid?.price, ask: ask?.price, bidSize: bid?.size, askSize: ask?.size))
            return [.marketState(venueSymbol: venue, open: true, reason: "tradeable", timestamp: ts), .tick(tick)]
        }
    }

    struct Level {
        var price: DecimalText
        var size: DecimalText?
    }

    /// The best level of a `bids`/`asks` array (`[{"price":"1.1","liquidity":1000000}]`), nil for none.
    private func best(_ side: JSONScanner.Token?, _ scanner: JSONScanner, higher: Bool) throws(JSONParser.Error) -> Result<Level?, Failure> {
        guard let side else { return .success(nil) }
        guard side.kind == .array else { return .failure(Failure("bids/asks is not an array")) }
        var best: Level?
        var failure: Failure?
        try scanner.forEachElement(of: side) { (level: JSONScanner.Token) throws(JSONParser.Error) in
            guard failure == nil else { return }
            guard level.kind == .object else { failure = Failure("a price level is not an object"); return }
            var price, liquidity: JSONScanner.Token?
            try scanner.forEachMember(of: level) { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                if scanner.name(name, equals: "price") { price = value }
                else if scanner.name(name, equals: "liquidity") { liquidity = value }
            }
            // Prices are strings on the wire; a JSON number would have been through someone's binary float.
            guard let token = price, case .string = token.kind, let value = scanner.decimal(token), value.isPositive else {
                failure = Failure("a price is missing, not a decimal string or not positive"); return
            }
            let size = liquidity.flatMap(scanner.decimal)
            if let size, size.isNegative { failure = Failure("negative liquidity \(size)"); return }
            if best.map({ higher ? value > $0.price : value < $0.price }) ?? true { best = Level(price: value, size: size) }
        }
        if let failure { return .failure(failure) }
        return .success(best)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
