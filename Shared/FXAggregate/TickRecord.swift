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
    /// then identity — so open/close do not depend on arrival order. Computed once, like `identity`.
    public private(set) var orderKey = ""

    /// Why a message is not a valid tick (the `<prefix>rejects` reason).
    public struct Invalid: Error, Sendable, Equatable {
        public var reason: String
        public var detail: String
    }

    public init(json: [UInt8]) throws(Invalid) {
        let value: JSONValue
        do { value = try JSONParser(maxDepth: 4, maxBytes: 64 * 1024).parse(json) }
        catch { throw Invalid(reason: "malformed_json", detail: error.description) }
        guard value["v"]?.int64Value == 1 else { throw Invalid(reason: "unsupported_version", detail: "v must be 1") }
        func text(_ name: String) throws(Invalid) -> String {
            guard let text = value[name]?.stringValue, !text.isEmpty else { throw Invalid(reason: "missing_field", detail: "'\(name)'") }
            return text
        }
        func decimal(_ name: String, positive: Bool, required: Bool) throws(Invalid) -> DecimalText? {
            guard let member = value[name], !member.isNull else {
                if required { throw Invalid(reason: "missing_field", detail: "'\(name)'") }
                return nil
            }
            guard let string = member.stringValue, let decimal = DecimalText(string) else {
                throw Invalid(reason: "invalid_decimal", detail: "'\(name)' is not a decimal string")
            }
            if positive ? !decimal.isPositive : decimal.isNegative {
                throw Invalid(reason: "invalid_price", detail: "'\(name)' = \(decimal)")
            }
            return decimal
        }
        source = try text("source")
        symbol = try text("symbol")
        guard let parsedKind = Kind(rawValue: try text("kind")) else { throw Invalid(reason: "unknown_kind", detail: "kind") }
        kind = parsedKind
        guard let ts = value["ts"]?.int64Value, ts > 0 else { throw Invalid(reason: "invalid_timestamp", detail: "'ts'") }
        self.ts = ts
        seq = value["seq"]?.int64Value
        receivedAt = value["recv_ts"]?.int64Value
        tradeID = value["trade_id"]?.stringValue
        switch kind {
        case .trade:
            price = try decimal("price", positive: true, required: true)
            size = try decimal("size", positive: false, required: true)
        case .quote:
            bid = try decimal("bid", positive: true, required: false)
            ask = try decimal("ask", positive: true, required: false)
            bidSize = try decimal("bid_size", positive: false, required: false)
            askSize = try decimal("ask_size", positive: false, required: false)
            guard bid != nil || ask != nil else { throw Invalid(reason: "missing_field", detail: "a quote needs bid or ask") }
            if let bid, let ask, ask < bid { throw Invalid(reason: "crossed_quote", detail: "ask \(ask) < bid \(bid)") }
        }
        identity = computedIdentity
        orderKey = computedOrderKey
    }

    private var computedIdentity: String {
        switch kind {
        case .trade:
            if let tradeID { return "t:" + tradeID }
            return "T:\(ts):\(seq.map(String.init) ?? ""):\(price?.text ?? ""):\(size?.text ?? "")"
        case .quote:
            return "q:\(ts):\(seq.map(String.init) ?? ""):\(bid?.text ?? ""):\(ask?.text ?? ""):\(bidSize?.text ?? ""):\(askSize?.text ?? "")"
        }
    }

    /// After `identity` is set.
    private var computedOrderKey: String {
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let id = tradeID ?? ""
        return pad(ts, 20) + "|" + pad((seq ?? -1) + 1, 20) + "|" + pad(Int64(id.utf8.count), 4) + id + "|" + identity
    }
}
