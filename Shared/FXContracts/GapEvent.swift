import FXCore

/// One `<prefix>gaps` message: a window of event time whose data for one symbol may be missing.
/// The backfiller repairs the window from the provider's REST history; the monitor counts it.
///
/// JSON (contract v1; fields in this order), key `<source>:<symbol>`:
/// `v`, `source`, `symbol`, `venue_symbol` (empty when the emitter does not know it), `from_ts`, `to_ts`
/// (ns since the epoch, UTC; the window `[from_ts, to_ts]` may be missing data), `reason` (`disconnect` |
/// `sequence` | `stale` | `delivery` | `retention`),
/// `detected_ts` (ns), `detail` (human-readable), `instance` (the instance that saw it: an ingestor, or an
/// aggregator for `retention`). Every field is required (``init(json:)``). Reason `bootstrap` marks where a
/// symbol's stream started, not a loss.
public struct GapEvent: Sendable, Equatable {
    public static let schemaVersion = 1

    public enum Reason: String, Sendable, CaseIterable {
        /// The connection carrying the symbol was down.
        case disconnect
        /// The provider's sequence number jumped.
        case sequence
        /// The feed (or the symbol) went silent while its market was open.
        case stale
        /// Data was received but could not be delivered to Kafka (or was dropped under overload).
        case delivery
        /// Kafka retention deleted ticks before the aggregator read them: the window runs from the symbol's
        /// newest stored candle to when the loss was found. `venue_symbol` is empty (not known there).
        case retention
        /// Not a loss: the symbol's stream started (first data since the ingestor started; in a fleet, since
        /// the instance took the shard over without a known previous owner) at `to_ts`
        /// (`from_ts` = `to_ts`). The backfiller loads history before it for a symbol that has none.
        case bootstrap
        /// The symbol's shard moved between the replicas of an ingestor fleet (one died, stopped or gave
        /// it up in a rebalance): from the previous owner's last checkpointed event to the new owner's
        /// first one.
        case handover
        /// Not a loss of trades or quotes: one symbol's order book could not be trusted (the venue's checksum
        /// disagreed, the book crossed, an update id was skipped) and is being resynced; on the books topic
        /// the symbol's next snapshot opens a new `epoch`. `from_ts` = `to_ts` = when it was found. The
        /// backfiller does not record these (candles are not affected).
        case book
    }

    public var source: String
    public var symbol: String
    public var venueSymbol: String
    public var from: Int64
    public var to: Int64
    public var reason: Reason
    public var detectedAt: Int64
    public var detail: String
    public var instance: String

    public init(source: String, symbol: String, venueSymbol: String, from: Int64, to: Int64, reason: Reason,
                detectedAt: Int64, detail: String, instance: String) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.from = min(from, to)
        self.to = max(from, to)
        self.reason = reason
        self.detectedAt = detectedAt
        self.detail = detail
        self.instance = instance
    }

    public var key: String { "\(source):\(symbol)" }

    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        writer.key("v"); writer.number(Int64(Self.schemaVersion))
        writer.key("source"); writer.string(source)
        writer.key("symbol"); writer.string(symbol)
        writer.key("venue_symbol"); writer.string(venueSymbol)
        writer.key("from_ts"); writer.number(from)
        writer.key("to_ts"); writer.number(to)
        writer.key("reason"); writer.string(reason.rawValue)
        writer.key("detected_ts"); writer.number(detectedAt)
        writer.key("detail"); writer.string(detail)
        writer.key("instance"); writer.string(instance)
        writer.endObject()
        return writer.bytes
    }

    /// Reads a message written by ``jsonBytes()`` (for consumers: backfiller, monitor, tests).
    public init(json: [UInt8]) throws {
        let value = try JSONParser().parse(json)
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T { try value.contractField(name, in: "gap event", read) }
        guard try field("v", { $0.int64Value }) == Int64(Self.schemaVersion) else {
            throw ContractError(message: "gap event: unsupported version")
        }
        let from = try field("from_ts", { $0.int64Value }), to = try field("to_ts", { $0.int64Value })
        guard from <= to else { throw ContractError(message: "gap event: 'from_ts' \(from) is after 'to_ts' \(to)", reason: "invalid_timestamp") }
        self.init(source: try field("source", { $0.stringValue }), symbol: try field("symbol", { $0.stringValue }),
                  venueSymbol: try field("venue_symbol", { $0.stringValue }), from: from, to: to,
                  reason: try field("reason", { $0.stringValue.flatMap(Reason.init(rawValue:)) }),
                  detectedAt: try field("detected_ts", { $0.int64Value }), detail: try field("detail", { $0.stringValue }),
                  instance: try field("instance", { $0.stringValue }))
        do throws(ContractLimits.Violation) {
            try ContractLimits.checkSource(source)
            try ContractLimits.checkSymbol(symbol)
            if !venueSymbol.isEmpty { try ContractLimits.checkVenueSymbol(venueSymbol) }
            try ContractLimits.checkEventTime(self.from, field: "from_ts")
            try ContractLimits.checkEventTime(self.to, field: "to_ts")
            try ContractLimits.checkEventTime(detectedAt, field: "detected_ts")
            try ContractLimits.checkText(detail, field: "detail", maxBytes: Self.maxDetailBytes)
            try ContractLimits.checkText(instance, field: "instance", maxBytes: ContractLimits.maxInstanceBytes)
        } catch {
            throw ContractError(message: "gap event: \(error.detail)", reason: error.reason)
        }
    }

    /// The longest `detail` a consumer accepts (bytes).
    public static let maxDetailBytes = 4096
}

/// A message that does not follow its topic's contract.
public struct ContractError: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// A stable code for the rejects topic (`malformed_message`, `invalid_timestamp`, `invalid_symbol`, ...).
    public var reason: String
    public init(message: String, reason: String = "malformed_message") {
        self.message = message
        self.reason = reason
    }
    public var description: String { message }
}
