import FXCore

/// One `<prefix>latest` value: the newest quote and the last trade of one symbol, with its market state.
/// Key `<source>:<symbol>`; the topic is compacted, so a reader that starts from the beginning holds
/// about one value per symbol. A null value (a tombstone) removes a symbol that is no longer streamed.
///
/// JSON (contract v1):
/// `{"v":1,"source":"kraken","symbol":"BTC/USD","venue_symbol":"BTC/USD",
///   "quote":{"bid":"50000.1","ask":"50000.2","bid_size":"1.25","ask_size":"0.75","ts":…,"recv_ts":…},
///   "trade":{"price":"50000.2","size":"0.01","side":"buy","trade_id":"104622323","ts":…,"recv_ts":…},
///   "market":"open","market_reason":null,"ts":…,"recv_ts":…,"instance":"ingest-1"}`
/// `quote`/`trade` are null until the symbol has one; `market` is `open` or `closed` (the venue said so,
/// `market_reason` its words); `ts`/`recv_ts` are those of the newest of the two. Readers judge staleness
/// from `recv_ts` (compaction keeps a value for ever).
public struct LatestQuote: Sendable, Equatable {
    public static let schemaVersion = 1

    public struct Quote: Sendable, Equatable {
        public var bid: DecimalText?
        public var ask: DecimalText?
        public var bidSize: DecimalText?
        public var askSize: DecimalText?
        public var ts: Int64
        public var recvTs: Int64

        public init(bid: DecimalText?, ask: DecimalText?, bidSize: DecimalText?, askSize: DecimalText?, ts: Int64, recvTs: Int64) {
            self.bid = bid
            self.ask = ask
            self.bidSize = bidSize
            self.askSize = askSize
            self.ts = ts
            self.recvTs = recvTs
        }
    }

    public struct Trade: Sendable, Equatable {
        public var price: DecimalText
        public var size: DecimalText
        public var side: Tick.Side?
        public var tradeID: String?
        public var ts: Int64
        public var recvTs: Int64

        public init(price: DecimalText, size: DecimalText, side: Tick.Side?, tradeID: String?, ts: Int64, recvTs: Int64) {
            self.price = price
            self.size = size
            self.side = side
            self.tradeID = tradeID
            self.ts = ts
            self.recvTs = recvTs
        }
    }

    public var source: String
    public var symbol: String
    public var venueSymbol: String
    public var quote: Quote?
    public var trade: Trade?
    public var marketOpen: Bool
    public var marketReason: String?
    public var instance: String

    public init(source: String, symbol: String, venueSymbol: String, quote: Quote? = nil, trade: Trade? = nil, marketOpen: Bool = true,
                marketReason: String? = nil, instance: String) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.quote = quote
        self.trade = trade
        self.marketOpen = marketOpen
        self.marketReason = marketReason
        self.instance = instance
    }

    public var key: String { "\(source):\(symbol)" }

    /// Event time of the newest of the quote and the trade (nil: neither yet).
    public var ts: Int64? { [quote?.ts, trade?.ts].compactMap { $0 }.max() }
    /// Receive time of the newest of the quote and the trade.
    public var recvTs: Int64? { [quote?.recvTs, trade?.recvTs].compactMap { $0 }.max() }

    /// Takes a published tick in: a quote replaces the quote, a trade the trade (never by an older one).
    public mutating func apply(_ tick: Tick) {
        switch tick.payload {
        case .quote(let bid, let ask, let bidSize, let askSize):
            guard (quote?.ts ?? .min) <= tick.timestamp else { return }
            quote = Quote(bid: bid, ask: ask, bidSize: bidSize, askSize: askSize, ts: tick.timestamp, recvTs: tick.receivedAt)
        case .trade(let price, let size, let side, let tradeID):
            guard (trade?.ts ?? .min) <= tick.timestamp else { return }
            trade = Trade(price: price, size: size, side: side, tradeID: tradeID, ts: tick.timestamp, recvTs: tick.receivedAt)
        }
    }

    public func jsonBytes() -> [UInt8] {
        var w = JSONWriter(capacity: 384)
        w.beginObject()
        w.key("v"); w.number(Int64(Self.schemaVersion))
        w.key("source"); w.string(source)
        w.key("symbol"); w.string(symbol)
        w.key("venue_symbol"); w.string(venueSymbol)
        w.key("quote")
        if let quote {
            w.beginObject()
            w.key("bid"); w.string(quote.bid?.description)
            w.key("ask"); w.string(quote.ask?.description)
            w.key("bid_size"); w.string(quote.bidSize?.description)
            w.key("ask_size"); w.string(quote.askSize?.description)
            w.key("ts"); w.number(quote.ts)
            w.key("recv_ts"); w.number(quote.recvTs)
            w.endObject()
        } else {
            w.null()
        }
        w.key("trade")
        if let trade {
            w.beginObject()
            w.key("price"); w.string(trade.price.description)
            w.key("size"); w.string(trade.size.description)
            w.key("side"); w.string(trade.side?.rawValue)
            w.key("trade_id"); w.string(trade.tradeID)
            w.key("ts"); w.number(trade.ts)
            w.key("recv_ts"); w.number(trade.recvTs)
            w.endObject()
        } else {
            w.null()
        }
        w.key("market"); w.string(marketOpen ? "open" : "closed")
        w.key("market_reason"); w.string(marketReason)
        w.key("ts"); w.number(ts)
        w.key("recv_ts"); w.number(recvTs)
        w.key("instance"); w.string(instance)
        w.endObject()
        return w.bytes
    }

    /// Reads a value written by ``jsonBytes()``; decimals and times are checked against the contract.
    public init(json: [UInt8]) throws(ContractError) {
        let value: JSONValue
        do { value = try JSONParser(maxDepth: 4, maxBytes: 16_384).parse(json) } catch {
            throw ContractError(message: "latest value: not JSON (\(error))")
        }
        guard value["v"]?.int64Value == Int64(Self.schemaVersion) else { throw ContractError(message: "latest value: unsupported version") }
        guard let source = value["source"]?.stringValue, ContractLimits.isValidSource(source),
              let symbol = value["symbol"]?.stringValue, ContractLimits.isValidSymbol(symbol),
              let venueSymbol = value["venue_symbol"]?.stringValue, ContractLimits.isValidVenueSymbol(venueSymbol),
              let instance = value["instance"]?.stringValue else {
            throw ContractError(message: "latest value: source, symbol, venue_symbol or instance missing or outside the contract")
        }
        func time(_ member: JSONValue, _ name: String) throws(ContractError) -> Int64 {
            guard let ts = member[name]?.int64Value, ContractLimits.isPlausibleEventTime(ts) else {
                throw ContractError(message: "latest value: '\(name)' missing or outside the contract", reason: "invalid_timestamp")
            }
            return ts
        }
        func decimal(_ member: JSONValue, _ name: String) throws(ContractError) -> DecimalText? {
            guard let field = member[name], !field.isNull else { return nil }
            guard let text = field.stringValue, let decimal = DecimalText(text) else {
                throw ContractError(message: "latest value: '\(name)' is not a decimal string", reason: "invalid_decimal")
            }
            return decimal
        }
        var latest = LatestQuote(source: source, symbol: symbol, venueSymbol: venueSymbol, marketOpen: value["market"]?.stringValue != "closed",
                                 marketReason: value["market_reason"]?.stringValue, instance: instance)
        if let quote = value["quote"], !quote.isNull {
            latest.quote = Quote(bid: try decimal(quote, "bid"), ask: try decimal(quote, "ask"), bidSize: try decimal(quote, "bid_size"),
                                 askSize: try decimal(quote, "ask_size"), ts: try time(quote, "ts"), recvTs: try time(quote, "recv_ts"))
        }
        if let trade = value["trade"], !trade.isNull {
            guard let price = try decimal(trade, "price"), let size = try decimal(trade, "size") else {
                throw ContractError(message: "latest value: a trade without price or size", reason: "invalid_decimal")
            }
            latest.trade = Trade(price: price, size: size, side: trade["side"]?.stringValue.flatMap(Tick.Side.init(rawValue:)),
                                 tradeID: trade["trade_id"]?.stringValue, ts: try time(trade, "ts"), recvTs: try time(trade, "recv_ts"))
        }
        self = latest
    }
}
