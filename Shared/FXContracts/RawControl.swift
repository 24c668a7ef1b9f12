import FXCore

/// A control record of the raw capture (``RawRecord/Kind/control``): what happened to the connection, so
/// that a replay sees the session exactly. JSON, `v` = 1 and `event`:
///
/// | event | when | fields |
/// |---|---|---|
/// | `start` | the connection starts (its feed state is new) | `provider`, `symbols` (venue symbols, subscription order), `canonical` (venue symbol -> canonical `BASE/QUOTE`), `sequence_check`, `connection_stale_after_ms`, `symbol_stale_after_ms`, `max_message_bytes` |
/// | `open` | a socket (or HTTP stream) opened | — |
/// | `subscribe` | the subscriptions were sent | `symbols` |
/// | `resubscribe` | symbols were subscribed again on the open socket (an order book's resync) | `symbols` |
/// | `close` | the socket ended | `detail` (why, credentials scrubbed) |
/// | `watchdog` | the silence check opened a gap or dropped the connection (a replay runs the check then) | — |
/// | `session_lost` | a Lightstreamer session lost its socket (to be recovered on the next one, or given up) | `reason` |
/// | `stop` | the connection stopped (shutdown, shard moved): its open gaps were published | — |
/// | `gap` | the capture itself lost records (its queue was full) | `reason` (`capture`), `dropped`, `from_ts`, `to_ts` (receive times of the first and last lost record) |
public enum RawControl: Sendable, Equatable {
    public struct Start: Sendable, Equatable {
        public var provider: String
        public var symbols: [String]
        public var canonical: [String: String]
        public var sequenceCheck: String
        public var connectionStaleAfterMs: Int64
        public var symbolStaleAfterMs: Int64
        public var maxMessageBytes: Int64

        public init(provider: String, symbols: [String], canonical: [String: String], sequenceCheck: String,
                    connectionStaleAfterMs: Int64, symbolStaleAfterMs: Int64, maxMessageBytes: Int64) {
            self.provider = provider
            self.symbols = symbols
            self.canonical = canonical
            self.sequenceCheck = sequenceCheck
            self.connectionStaleAfterMs = connectionStaleAfterMs
            self.symbolStaleAfterMs = symbolStaleAfterMs
            self.maxMessageBytes = maxMessageBytes
        }
    }

    case start(Start)
    case open
    case subscribe(symbols: [String])
    case resubscribe(symbols: [String])
    case close(detail: String)
    case watchdog
    case sessionLost(reason: String)
    case stop
    case gap(dropped: Int64, from: Int64, to: Int64)

    public static let schemaVersion = 1

    public var event: String {
        switch self {
        case .start: "start"
        case .open: "open"
        case .subscribe: "subscribe"
        case .resubscribe: "resubscribe"
        case .close: "close"
        case .watchdog: "watchdog"
        case .sessionLost: "session_lost"
        case .stop: "stop"
        case .gap: "gap"
        }
    }

    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        writer.key("v"); writer.number(Int64(Self.schemaVersion))
        writer.key("event"); writer.string(event)
        switch self {
        case .start(let start):
            writer.key("provider"); writer.string(start.provider)
            writer.key("symbols"); writer.stringArray(start.symbols)
            writer.key("canonical"); writer.beginObject()
            for (venue, symbol) in start.canonical.sorted(by: { $0.key < $1.key }) { writer.key(venue); writer.string(symbol) }
            writer.endObject()
            writer.key("sequence_check"); writer.string(start.sequenceCheck)
            writer.key("connection_stale_after_ms"); writer.number(start.connectionStaleAfterMs)
            writer.key("symbol_stale_after_ms"); writer.number(start.symbolStaleAfterMs)
            writer.key("max_message_bytes"); writer.number(start.maxMessageBytes)
        case .subscribe(let symbols), .resubscribe(let symbols):
            writer.key("symbols"); writer.stringArray(symbols)
        case .close(let detail):
            writer.key("detail"); writer.string(detail)
        case .sessionLost(let reason):
            writer.key("reason"); writer.string(reason)
        case .gap(let dropped, let from, let to):
            writer.key("reason"); writer.string("capture")
            writer.key("dropped"); writer.number(dropped)
            writer.key("from_ts"); writer.number(from)
            writer.key("to_ts"); writer.number(to)
        case .open, .watchdog, .stop:
            break
        }
        writer.endObject()
        return writer.bytes
    }

    /// Reads a control record's value.
    /// - Throws: ``ContractError`` naming what is missing or unknown.
    public init(json: [UInt8]) throws {
        let value = try JSONParser().parse(json)
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T { try value.contractField(name, in: "raw control record", read) }
        func strings(_ name: String) throws -> [String] {
            try field(name) { $0.arrayValue.flatMap { items in
                let texts = items.compactMap(\.stringValue)
                return texts.count == items.count ? texts : nil
            } }
        }
        guard try field("v", { $0.int64Value }) == Int64(Self.schemaVersion) else {
            throw ContractError(message: "raw control record: unsupported version")
        }
        switch try field("event", { $0.stringValue }) {
        case "start":
            var map: [String: String] = [:]
            if case .object(let members)? = value["canonical"] {
                for (venue, symbol) in members { if let text = symbol.stringValue { map[venue] = text } }
            }
            // Bounded as the ingestor's own settings are (a day of silence, 1 GiB messages at most).
            func positive(_ name: String, max: Int64) throws -> Int64 {
                try field(name) { $0.int64Value.flatMap { (1...max).contains($0) ? $0 : nil } }
            }
            self = .start(Start(provider: try field("provider", { $0.stringValue }), symbols: try strings("symbols"), canonical: map,
                                sequenceCheck: try field("sequence_check", { $0.stringValue }),
                                connectionStaleAfterMs: try positive("connection_stale_after_ms", max: 86_400_000),
                                symbolStaleAfterMs: try positive("symbol_stale_after_ms", max: 86_400_000),
                                maxMessageBytes: try positive("max_message_bytes", max: 1 << 30)))
        case "open": self = .open
        case "subscribe": self = .subscribe(symbols: try strings("symbols"))
        case "resubscribe": self = .resubscribe(symbols: try strings("symbols"))
        case "close": self = .close(detail: try field("detail", { $0.stringValue }))
        case "watchdog": self = .watchdog
        case "session_lost": self = .sessionLost(reason: try field("reason", { $0.stringValue }))
        case "stop": self = .stop
        case "gap":
            self = .gap(dropped: try field("dropped", { $0.int64Value.flatMap { $0 >= 0 ? $0 : nil } }), from: try field("from_ts", { $0.int64Value }),
                        to: try field("to_ts", { $0.int64Value }))
        case let other:
            throw ContractError(message: "raw control record: unknown event '\(other.prefix(40))'")
        }
    }
}
