import FXCore
import Foundation

/// One `<prefix>rejects` message: input that failed validation, kept with its reason and a bounded copy
/// of the raw payload so nothing is lost silently.
///
/// JSON (v1), key as the writer chooses (the ingestor `<source>`; the aggregator and the backfiller's intake
/// the rejected message's key; refused ticks and history answers `<source>:<symbol>`):
/// `v`, `source`, `stage` (`ingest`, `aggregate` or `backfill`), `reason` (a stable code,
/// e.g. `malformed_json`), `detail`, `recv_ts` (ns), `raw` (the payload: UTF-8 text as is, otherwise
/// base64), `raw_encoding` (`utf8` | `base64`), `raw_bytes` (the payload's full length), `truncated`
/// (true when `raw` holds only the first ``maxRawBytes`` bytes), `instance`.
public struct RejectRecord: Sendable, Equatable {
    public static let schemaVersion = 1
    /// At most this many payload bytes are kept.
    public static let maxRawBytes = 4096

    /// Which part of the pipeline set the input aside.
    public enum Stage: String, Sendable, CaseIterable {
        /// The ingestor: a provider frame.
        case ingest
        /// The aggregator: a message of `<prefix>ticks`, or a tick the database refused.
        case aggregate
        /// The backfiller: a message of `<prefix>gaps`, or a REST history answer.
        case backfill
    }

    public var source: String
    public var stage: Stage
    public var reason: String
    public var detail: String
    public var receivedAt: Int64
    public var raw: [UInt8]
    public var rawLength: Int
    public var instance: String
    public var key: String

    public init(source: String, stage: Stage = .ingest, reason: String, detail: String, receivedAt: Int64,
                payload: some Collection<UInt8>, rawLength: Int? = nil, instance: String, key: String? = nil) {
        self.source = source
        self.stage = stage
        self.reason = reason
        self.detail = detail
        self.receivedAt = receivedAt
        self.raw = Array(payload.prefix(Self.maxRawBytes))
        self.rawLength = max(rawLength ?? payload.count, self.raw.count)
        self.instance = instance
        self.key = key ?? source
    }

    public var truncated: Bool { raw.count < rawLength }

    /// Reads a message written by ``jsonBytes()`` (for consumers and tests); `key` is the message's key.
    public init(json: [UInt8], key: String? = nil) throws {
        let value = try JSONParser().parse(json)
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T { try value.contractField(name, in: "reject", read) }
        guard try field("v", { $0.int64Value }) == Int64(Self.schemaVersion) else { throw ContractError(message: "reject: unsupported version") }
        let text = try field("raw", { $0.stringValue })
        let payload: [UInt8]
        switch try field("raw_encoding", { $0.stringValue }) {
        case "utf8": payload = Array(text.utf8)
        case "base64":
            guard let data = Data(base64Encoded: text) else { throw ContractError(message: "reject: 'raw' is not base64") }
            payload = Array(data)
        default: throw ContractError(message: "reject: unknown 'raw_encoding'")
        }
        let source = try field("source", { $0.stringValue })
        self.init(source: source, stage: try field("stage", { $0.stringValue.flatMap(Stage.init(rawValue:)) }),
                  reason: try field("reason", { $0.stringValue }), detail: try field("detail", { $0.stringValue }),
                  receivedAt: try field("recv_ts", { $0.int64Value }), payload: payload,
                  rawLength: Int(try field("raw_bytes", { $0.int64Value })), instance: try field("instance", { $0.stringValue }),
                  key: key ?? source)
        guard try field("truncated", { $0.boolValue }) == truncated else {
            throw ContractError(message: "reject: 'truncated' disagrees with 'raw' and 'raw_bytes'")
        }
    }

    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 256 + raw.count)
        writer.beginObject()
        writer.key("v"); writer.number(Int64(Self.schemaVersion))
        writer.key("source"); writer.string(source)
        writer.key("stage"); writer.string(stage.rawValue)
        writer.key("reason"); writer.string(reason)
        writer.key("detail"); writer.string(detail)
        writer.key("recv_ts"); writer.number(receivedAt)
        // A cut may split a UTF-8 sequence: cut text is still valid if the prefix decodes.
        if let text = String(validating: raw, as: UTF8.self) {
            writer.key("raw"); writer.string(text)
            writer.key("raw_encoding"); writer.string("utf8")
        } else {
            writer.key("raw"); writer.string(Data(raw).base64EncodedString())
            writer.key("raw_encoding"); writer.string("base64")
        }
        writer.key("raw_bytes"); writer.number(Int64(rawLength))
        writer.key("truncated"); writer.bool(truncated)
        writer.key("instance"); writer.string(instance)
        writer.endObject()
        return writer.bytes
    }
}
