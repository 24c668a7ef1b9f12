import FXCore

/// One message of `<prefix>raw`, the raw capture: a frame exactly as a venue sent it, or a control record
/// that tells a replay what happened to the connection (see ``RawControl``).
///
/// - Key: `<source>:<connection>` (the connection id, e.g. `coinbase-0`), so one connection's records stay
///   in order on one partition.
/// - Value: a frame's bytes exactly as received (a message's WebSocket frames joined; one line of an HTTP
///   line stream), or a control record's JSON.
/// - Headers (values are ASCII text): `kind` (`frame` | `control`), `recv_ts` (ns since the epoch, the
///   receive time the ingestor stamped on what the frame produced), `connection`, `instance`, `session`
///   (sockets this connection opened so far), `sub_version` (the subscription set's version: 1 at each
///   subscribe, +1 at each resubscribe), `seq` (the record's number within its connection, frames and
///   control records alike, from 1: a hole is a record the capture lost). A frame over the size cap adds
///   `frame_bytes` (its full length; the value holds its first bytes only) and `frame_limit`; a line cut
///   off by a dropped connection adds `truncated` = `1`; a frame over the capture's record limit keeps its
///   first 4 KiB and adds `cut` = `1` and `frame_bytes`.
public struct RawRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case frame, control }

    public var kind: Kind
    public var source: String
    public var connection: String
    public var instance: String
    public var session: Int64
    public var subscriptionVersion: Int64
    public var sequence: Int64
    public var receivedAt: Int64
    public var value: [UInt8]
    /// A frame over the cap: its full length (``value`` holds its first bytes) and the cap it broke.
    public var fullLength: Int64?
    public var limit: Int64?
    /// A line cut off by the end of its connection.
    public var truncated = false
    /// A frame the capture kept only the first bytes of (over its record size limit, ``fullLength`` its
    /// length): the ingestor read it whole; a replay skips it.
    public var cut = false
    /// Only in export files: a copy of an earlier record (the connection's `start`, `open`, `subscribe`) put
    /// where the connection first appears in a file, so the file replays on its own.
    public var context = false

    public init(kind: Kind, source: String, connection: String, instance: String, session: Int64, subscriptionVersion: Int64,
                sequence: Int64, receivedAt: Int64, value: [UInt8], fullLength: Int64? = nil, limit: Int64? = nil, truncated: Bool = false,
                cut: Bool = false) {
        self.cut = cut
        self.kind = kind
        self.source = source
        self.connection = connection
        self.instance = instance
        self.session = session
        self.subscriptionVersion = subscriptionVersion
        self.sequence = sequence
        self.receivedAt = receivedAt
        self.value = value
        self.fullLength = fullLength
        self.limit = limit
        self.truncated = truncated
    }

    /// The header names, for every writer and reader of the topic.
    public enum Header {
        public static let kind = "kind", receivedAt = "recv_ts", connection = "connection", instance = "instance"
        public static let session = "session", subscriptionVersion = "sub_version", sequence = "seq"
        public static let fullLength = "frame_bytes", limit = "frame_limit", truncated = "truncated", cut = "cut"
    }

    /// A numeric header's value: ASCII decimal digits.
    public static func headerNumber(_ value: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        bytes.appendDecimal(value)
        return bytes
    }

    /// A flag header's value (present only when set).
    public static let headerFlag: [UInt8] = [UInt8(ascii: "1")]

    /// The Kafka key: `<source>:<connection>`.
    public var key: String { "\(source):\(connection)" }

    /// The headers, in a fixed order (name, ASCII value).
    public var headers: [(String, [UInt8])] {
        var headers: [(String, [UInt8])] = [
            (Header.kind, Array(kind.rawValue.utf8)),
            (Header.receivedAt, Self.headerNumber(receivedAt)),
            (Header.connection, Array(connection.utf8)),
            (Header.instance, Array(instance.utf8)),
            (Header.session, Self.headerNumber(session)),
            (Header.subscriptionVersion, Self.headerNumber(subscriptionVersion)),
            (Header.sequence, Self.headerNumber(sequence)),
        ]
        if let fullLength { headers.append((Header.fullLength, Self.headerNumber(fullLength))) }
        if let limit { headers.append((Header.limit, Self.headerNumber(limit))) }
        if truncated { headers.append((Header.truncated, Self.headerFlag)) }
        if cut { headers.append((Header.cut, Self.headerFlag)) }
        return headers
    }

    /// Reads a record from its Kafka key, value and headers.
    /// - Throws: ``ContractError`` naming the missing or invalid header.
    public init(key: [UInt8]?, value: [UInt8], headers: [(String, [UInt8]?)]) throws {
        func header(_ name: String) -> [UInt8]? { headers.last(where: { $0.0 == name })?.1 }
        func text(_ name: String) throws -> String {
            guard let bytes = header(name), let text = String(validating: bytes, as: UTF8.self), !text.isEmpty else {
                throw ContractError(message: "raw record: missing or invalid header '\(name)'")
            }
            return text
        }
        func number(_ name: String) throws -> Int64 {
            guard let value = Int64(try text(name)) else { throw ContractError(message: "raw record: header '\(name)' is not an integer") }
            return value
        }
        guard let kind = Kind(rawValue: try text(Header.kind)) else { throw ContractError(message: "raw record: unknown kind") }
        func bounded(_ name: String, _ range: ClosedRange<Int64>) throws -> Int64 {
            let value = try number(name)
            guard range.contains(value) else { throw ContractError(message: "raw record: header '\(name)' \(value) is outside \(range.lowerBound)...\(range.upperBound)") }
            return value
        }
        // Receive times within the consumers' window (2000 to 2100); counters positive and far from overflowing.
        let times = ContractLimits.earliestEventTime...ContractLimits.latestEventTime
        let counters: ClosedRange<Int64> = 0...(1 << 62)
        let keyText = key.flatMap { String(validating: $0, as: UTF8.self) } ?? ""
        guard let colon = keyText.firstIndex(of: ":") else { throw ContractError(message: "raw record: the key is not source:connection") }
        let connection = try text(Header.connection)
        guard keyText[keyText.index(after: colon)...] == connection else {
            throw ContractError(message: "raw record: the key's connection is not the header's")
        }
        self.init(kind: kind, source: String(keyText[..<colon]), connection: connection, instance: try text(Header.instance),
                  session: try bounded(Header.session, counters), subscriptionVersion: try bounded(Header.subscriptionVersion, counters),
                  sequence: try bounded(Header.sequence, 1...(1 << 62)), receivedAt: try bounded(Header.receivedAt, times), value: value,
                  fullLength: header(Header.fullLength) == nil ? nil : try bounded(Header.fullLength, counters),
                  limit: header(Header.limit) == nil ? nil : try bounded(Header.limit, counters),
                  truncated: header(Header.truncated) == Self.headerFlag, cut: header(Header.cut) == Self.headerFlag)
    }

}
