import FXContracts
import FXCore

/// One `fx.ticks` message as the aggregator uses it, validated against the v1 contract.
public struct TickRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case trade, quote }

    public private(set) var source: String
    public private(set) var symbol: String
    public private(set) var kind: Kind
    public private(set) var ts: Int64
    public private(set) var seq: Int64?
    /// When the ingestor received it (`recv_ts`, ns; optional in the contract): for latency only.
    public private(set) var receivedAt: Int64?
    public private(set) var tradeID: String?
    public private(set) var price: DecimalText?
    public private(set) var size: DecimalText?
    public private(set) var bid: DecimalText?
    public private(set) var ask: DecimalText?
    public private(set) var bidSize: DecimalText?
    public private(set) var askSize: DecimalText?
    /// The tick's identity for duplicate suppression: trades by `trade_id`, everything else by content.
    /// Computed once, when the message is parsed (on the consumer's task, not on the flush path).
    public private(set) var identity = ""
    /// Byte-comparable order: event time, then sequence, then trade id (numeric ids in numeric order),
    /// then identity — so open/close do not depend on arrival order. Built on demand from ``order``
    /// (ticks are compared by ``order``, without building this text).
    public var orderKey: String { order.text }
    /// The tick's place in that order, compared field by field.
    public var order: TickOrder { TickOrder(ts: ts, seq: seq, tradeID: tradeID, identity: identity) }

    /// Why a message is not a valid tick (the `<prefix>rejects` reason).
    public struct Invalid: Error, Sendable, Equatable {
        public var reason: String
        public var detail: String

        public init(reason: String, detail: String) {
            self.reason = reason
            self.detail = detail
        }
    }

    /// The largest message read (64 KiB): a tick is a few hundred bytes.
    static let maxBytes = 64 * 1024

    /// Reads one message with ``JSONScanner``: the whole document is validated (syntax, UTF-8, depth <= 4,
    /// size), but only the contract's fields are materialized; a repeated member's last value counts.
    public init(json: [UInt8]) throws(Invalid) {
        guard json.count <= Self.maxBytes else {
            throw Invalid(reason: "malformed_json", detail: "JSON too_large: document of \(json.count) bytes exceeds \(Self.maxBytes)")
        }
        let scanner = JSONScanner(json, maxDepth: 4)
        var f = Fields()
        do {
            try scanner.forEachMember { (name: Range<Int>, value: JSONScanner.Token) throws(JSONParser.Error) in
                switch name.count {
                case 1: if scanner.name(name, equals: "v") { f.v = value }
                case 2: if scanner.name(name, equals: "ts") { f.ts = value }
                case 3:
                    if scanner.name(name, equals: "seq") { f.seq = value }
                    else if scanner.name(name, equals: "bid") { f.bid = value }
                    else if scanner.name(name, equals: "ask") { f.ask = value }
                case 4:
                    if scanner.name(name, equals: "kind") { f.kind = value }
                    else if scanner.name(name, equals: "size") { f.size = value }
                case 5: if scanner.name(name, equals: "price") { f.price = value }
                case 6:
                    if scanner.name(name, equals: "source") { f.source = value }
                    else if scanner.name(name, equals: "symbol") { f.symbol = value }
                case 7: if scanner.name(name, equals: "recv_ts") { f.receivedAt = value }
                case 8:
                    if scanner.name(name, equals: "trade_id") { f.tradeID = value }
                    else if scanner.name(name, equals: "bid_size") { f.bidSize = value }
                    else if scanner.name(name, equals: "ask_size") { f.askSize = value }
                default: break
                }
            }
        } catch {
            throw Invalid(reason: "malformed_json", detail: error.description)
        }
        guard f.v.flatMap(scanner.int64) == 1 else { throw Invalid(reason: "unsupported_version", detail: "v must be 1") }
        func text(_ token: JSONScanner.Token?, _ name: String) throws(Invalid) -> String {
            guard let text = token.flatMap(scanner.string), !text.isEmpty else { throw Invalid(reason: "missing_field", detail: "'\(name)'") }
            return text
        }
        func decimal(_ token: JSONScanner.Token?, _ name: String, positive: Bool, required: Bool) throws(Invalid) -> DecimalText? {
            guard let token, token.kind != .null else {
                if required { throw Invalid(reason: "missing_field", detail: "'\(name)'") }
                return nil
            }
            let parsed: DecimalText? = switch token.kind {
            case .string(escaped: false): DecimalText(bytes: json[token.range])
            case .string(escaped: true): scanner.string(token).flatMap { DecimalText($0) }
            default: nil
            }
            guard let decimal = parsed else { throw Invalid(reason: "invalid_decimal", detail: "'\(name)' is not a decimal string") }
            try Self.within { () throws(ContractLimits.Violation) in try ContractLimits.checkDecimal(decimal, field: name) }
            if positive ? !decimal.isPositive : decimal.isNegative {
                throw Invalid(reason: "invalid_price", detail: "'\(name)' = \(decimal)")
            }
            return decimal
        }
        source = try text(f.source, "source")
        symbol = try text(f.symbol, "symbol")
        guard let parsedKind = Kind(rawValue: try text(f.kind, "kind")) else { throw Invalid(reason: "unknown_kind", detail: "kind") }
        kind = parsedKind
        guard let ts = f.ts.flatMap(scanner.int64) else { throw Invalid(reason: "invalid_timestamp", detail: "'ts' is not an integer") }
        self.ts = ts
        seq = f.seq.flatMap(scanner.int64)
        // Latency only: a receipt time outside the contract's window is dropped, not trusted.
        receivedAt = f.receivedAt.flatMap(scanner.int64).flatMap { ContractLimits.isPlausibleEventTime($0) ? $0 : nil }
        tradeID = f.tradeID.flatMap(scanner.string)
        let (source, symbol, seq, tradeID) = (source, symbol, seq, tradeID)
        try Self.within { () throws(ContractLimits.Violation) in
            try ContractLimits.checkSource(source)
            try ContractLimits.checkSymbol(symbol)
            try ContractLimits.checkEventTime(ts)
            try ContractLimits.checkSequence(seq)
            try ContractLimits.checkTradeID(tradeID)
        }
        switch kind {
        case .trade:
            price = try decimal(f.price, "price", positive: true, required: true)
            size = try decimal(f.size, "size", positive: false, required: true)
        case .quote:
            bid = try decimal(f.bid, "bid", positive: true, required: false)
            ask = try decimal(f.ask, "ask", positive: true, required: false)
            bidSize = try decimal(f.bidSize, "bid_size", positive: false, required: false)
            askSize = try decimal(f.askSize, "ask_size", positive: false, required: false)
            guard bid != nil || ask != nil else { throw Invalid(reason: "missing_field", detail: "a quote needs bid or ask") }
            if let bid, let ask, ask < bid { throw Invalid(reason: "crossed_quote", detail: "ask \(ask) < bid \(bid)") }
        }
        identity = computedIdentity
    }

    /// The tick as a `<prefix>ticks` message with the members the aggregator read (for a reject's `raw`).
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("v"); writer.number(Int64(Tick.schemaVersion))
        writer.key("kind"); writer.string(kind.rawValue)
        writer.key("source"); writer.string(source)
        writer.key("symbol"); writer.string(symbol)
        writer.key("ts"); writer.number(ts)
        writer.key("recv_ts"); writer.number(receivedAt)
        writer.key("seq"); writer.number(seq)
        switch kind {
        case .trade:
            writer.key("price"); writer.string(price?.text)
            writer.key("size"); writer.string(size?.text)
        case .quote:
            writer.key("bid"); writer.string(bid?.text)
            writer.key("ask"); writer.string(ask?.text)
            writer.key("bid_size"); writer.string(bidSize?.text)
            writer.key("ask_size"); writer.string(askSize?.text)
        }
        // Read for either kind (it orders a quote too), so written for either.
        writer.key("trade_id"); writer.string(tradeID)
        writer.endObject()
        return writer.bytes
    }

    /// Runs contract-limit checks, reporting a violation as ``Invalid`` with the same reason.
    private static func within(_ checks: () throws(ContractLimits.Violation) -> Void) throws(Invalid) {
        do { try checks() } catch { throw Invalid(reason: error.reason, detail: error.detail) }
    }

    /// The contract's members as found in the message (the last of a repeated name).
    private struct Fields {
        var v, kind, source, symbol, ts, seq, receivedAt, tradeID: JSONScanner.Token?
        var price, size, bid, ask, bidSize, askSize: JSONScanner.Token?
    }

    // Identity and order key are built as bytes (string interpolation and padding were most of the
    // parse cost); the texts are unchanged.

    private var computedIdentity: String {
        var b = KeyBytes()
        switch kind {
        case .trade:
            // "t:" and a short id fit a small string: no buffer, no allocation.
            if let tradeID { return "t:" + tradeID }
            b.append("T:"); b.append(ts, width: 0); b.append(":"); if let seq { b.append(seq, width: 0) }
            b.append(":"); b.append(price?.text); b.append(":"); b.append(size?.text)
        case .quote:
            b.append("q:"); b.append(ts, width: 0); b.append(":"); if let seq { b.append(seq, width: 0) }
            b.append(":"); b.append(bid?.text); b.append(":"); b.append(ask?.text)
            b.append(":"); b.append(bidSize?.text); b.append(":"); b.append(askSize?.text)
        }
        return b.string
    }
}

/// A small byte buffer for building key texts.
private struct KeyBytes {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(96) }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func append(_ text: String?) {
        guard let text else { return }
        bytes.append(contentsOf: text.utf8)
    }

    mutating func append(_ value: Int64, width: Int) { bytes.appendDecimal(value, width: width) }
}
