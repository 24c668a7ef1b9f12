import FXCore

/// One normalized market event: the message contract of `<prefix>ticks` (schema version 1).
///
/// JSON, one event per message, key `<source>:<symbol>`:
/// `v`, `kind` (`trade`|`quote`), `source`, `symbol` (canonical `BASE/QUOTE`), `venue_symbol`,
/// `ts` and `recv_ts` (integer nanoseconds since the Unix epoch, UTC), `seq` (integer or null);
/// trades add `price`, `size` (decimal strings), `side` (`buy`|`sell`|null, the taker's side),
/// `trade_id` (string or null); quotes add `bid`, `ask`, `bid_size`, `ask_size` (decimal strings or null).
public struct Tick: Sendable, Equatable {
    public static let schemaVersion = 1

    public enum Kind: String, Sendable { case trade, quote }
    public enum Side: String, Sendable { case buy, sell }

    public enum Payload: Sendable, Equatable {
        case trade(price: DecimalText, size: DecimalText, side: Side?, tradeID: String?)
        case quote(bid: DecimalText?, ask: DecimalText?, bidSize: DecimalText?, askSize: DecimalText?)
    }

    public var source: String
    public var symbol: String
    public var venueSymbol: String
    /// Event time, nanoseconds since the Unix epoch (UTC).
    public var timestamp: Int64
    /// Receive time, nanoseconds since the Unix epoch (UTC).
    public var receivedAt: Int64
    public var sequence: Int64?
    public var payload: Payload

    public init(source: String, symbol: String, venueSymbol: String, timestamp: Int64, receivedAt: Int64,
                sequence: Int64?, payload: Payload) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.sequence = sequence
        self.payload = payload
    }

    public var kind: Kind {
        if case .trade = payload { return .trade }
        return .quote
    }

    /// The Kafka message key: `<source>:<symbol>`.
    public var key: String { "\(source):\(symbol)" }

    /// ``key`` as bytes, written straight into one array (no intermediate `String`).
    public var keyBytes: [UInt8] {
        var source = source, symbol = symbol
        return source.withUTF8 { source in
            symbol.withUTF8 { symbol in
                [UInt8](unsafeUninitializedCapacity: source.count + symbol.count + 1) { buffer, count in
                    _ = buffer.initialize(fromContentsOf: source)
                    buffer[source.count] = UInt8(ascii: ":")
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[(source.count + 1)...]).initialize(fromContentsOf: symbol)
                    count = source.count + symbol.count + 1
                }
            }
        }
    }

    /// The JSON message, fields in contract order: written into one array sized in advance
    /// (``JSONBufferWriter``), the same bytes as ``jsonBytesWithWriter()``.
    public func jsonBytes() -> [UInt8] {
        // Member names and punctuation: 111 bytes for a trade, 112 for a quote; 4 numbers.
        var capacity = 112 + 4 * JSONBufferWriter.numberLength + JSONBufferWriter.quotedLength(kind.rawValue)
            + JSONBufferWriter.quotedLength(source) + JSONBufferWriter.quotedLength(symbol) + JSONBufferWriter.quotedLength(venueSymbol)
        switch payload {
        case .trade(let price, let size, let side, let tradeID):
            capacity += JSONBufferWriter.quotedLength(price.text) + JSONBufferWriter.quotedLength(size.text)
                + JSONBufferWriter.quotedLength(side?.rawValue) + JSONBufferWriter.quotedLength(tradeID)
        case .quote(let bid, let ask, let bidSize, let askSize):
            capacity += JSONBufferWriter.quotedLength(bid?.text) + JSONBufferWriter.quotedLength(ask?.text)
                + JSONBufferWriter.quotedLength(bidSize?.text) + JSONBufferWriter.quotedLength(askSize?.text)
        }
        let written = JSONBufferWriter.bytes(capacity: capacity) { writer in
            writer.raw(#"{"v":"#); writer.number(Int64(Self.schemaVersion))
            writer.raw(#","kind":"#); writer.string(kind.rawValue)
            writer.raw(#","source":"#); writer.string(source)
            writer.raw(#","symbol":"#); writer.string(symbol)
            writer.raw(#","venue_symbol":"#); writer.string(venueSymbol)
            writer.raw(#","ts":"#); writer.number(timestamp)
            writer.raw(#","recv_ts":"#); writer.number(receivedAt)
            writer.raw(#","seq":"#); writer.number(sequence)
            switch payload {
            case .trade(let price, let size, let side, let tradeID):
                writer.raw(#","price":"#); writer.string(price.text)
                writer.raw(#","size":"#); writer.string(size.text)
                writer.raw(#","side":"#); writer.string(side?.rawValue)
                writer.raw(#","trade_id":"#); writer.string(tradeID)
            case .quote(let bid, let ask, let bidSize, let askSize):
                writer.raw(#","bid":"#); writer.string(bid?.text)
                writer.raw(#","ask":"#); writer.string(ask?.text)
                writer.raw(#","bid_size":"#); writer.string(bidSize?.text)
                writer.raw(#","ask_size":"#); writer.string(askSize?.text)
            }
            writer.raw("}")
        }
        return written ?? jsonBytesWithWriter()
    }

    /// The JSON message written with ``JSONWriter`` (the reference for ``jsonBytes()``, and its fallback).
    public func jsonBytesWithWriter() -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.member("v"); writer.number(Int64(Self.schemaVersion))
        writer.member("kind"); writer.string(kind.rawValue)
        writer.member("source"); writer.string(source)
        writer.member("symbol"); writer.string(symbol)
        writer.member("venue_symbol"); writer.string(venueSymbol)
        writer.member("ts"); writer.number(timestamp)
        writer.member("recv_ts"); writer.number(receivedAt)
        writer.member("seq"); writer.number(sequence)
        switch payload {
        case .trade(let price, let size, let side, let tradeID):
            writer.member("price"); writer.string(price.text)
            writer.member("size"); writer.string(size.text)
            writer.member("side"); writer.string(side?.rawValue)
            writer.member("trade_id"); writer.string(tradeID)
        case .quote(let bid, let ask, let bidSize, let askSize):
            writer.member("bid"); writer.string(bid?.text)
            writer.member("ask"); writer.string(ask?.text)
            writer.member("bid_size"); writer.string(bidSize?.text)
            writer.member("ask_size"); writer.string(askSize?.text)
        }
        writer.endObject()
        return writer.bytes
    }
}
