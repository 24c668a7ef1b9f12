import FXCore

/// One `<prefix>books` message: a full snapshot (or one chunk of it) or a delta of one symbol's order book.
/// Key `<source>:<symbol>`, so one symbol's messages stay in order on one partition.
///
/// JSON (contract v1; fields in this order):
/// `v`, `source`, `symbol`, `venue_symbol`, `kind` (`snapshot` | `delta`), `reason` (snapshots: `initial`,
/// `resync` or `periodic`; `null` on deltas), `epoch` (starts at 1, +1 on every resync of the symbol),
/// `seq` (1, 2, 3, ... per symbol and epoch without holes: every message counts, chunks included),
/// `first_update_id`/`last_update_id` (the venue's update ids the message covers, Binance `U`/`u` and a
/// snapshot's `lastUpdateId`; `null` where the venue has none), `depth` (levels per side the book is kept
/// at; `null`: as deep as the venue sends), `chunk` (0-based) and `last_chunk` (a snapshot split over
/// several messages; deltas are `0`/`true`), `bids` and `asks` (`[["price","quantity"], ...]`, exact
/// decimal strings as the venue wrote them, quantities absolute, a zero quantity deletes the level),
/// `checksum` (`null` or ``BookChecksum``), `ts` (venue time, ns), `recv_ts` (ns), `instance`.
///
/// A snapshot replaces the book; its chunks have consecutive `seq` with no delta between them.
public struct BookMessage: Sendable, Equatable {
    public static let schemaVersion = 1

    public enum Kind: String, Sendable {
        case snapshot, delta
    }

    public enum SnapshotReason: String, Sendable {
        /// The symbol's first snapshot since the ingestor subscribed it.
        case initial
        /// A new epoch after a gap, a failed checksum, a crossed book or a reconnect.
        case resync
        /// A full copy of the book in the same epoch, so that a consumer joining late can start from it.
        case periodic
    }

    public var source: String
    public var symbol: String
    public var venueSymbol: String
    public var kind: Kind
    public var reason: SnapshotReason?
    public var epoch: Int64
    public var seq: Int64
    public var firstUpdateID: Int64?
    public var lastUpdateID: Int64?
    public var depth: Int?
    public var chunk: Int
    public var lastChunk: Bool
    public var bids: [BookLevel]
    public var asks: [BookLevel]
    public var checksum: BookChecksum?
    public var ts: Int64
    public var recvTs: Int64
    public var instance: String

    public init(source: String, symbol: String, venueSymbol: String, kind: Kind, reason: SnapshotReason? = nil,
                epoch: Int64, seq: Int64, firstUpdateID: Int64? = nil, lastUpdateID: Int64? = nil, depth: Int? = nil,
                chunk: Int = 0, lastChunk: Bool = true, bids: [BookLevel], asks: [BookLevel],
                checksum: BookChecksum? = nil, ts: Int64, recvTs: Int64, instance: String) {
        self.source = source
        self.symbol = symbol
        self.venueSymbol = venueSymbol
        self.kind = kind
        self.reason = kind == .snapshot ? (reason ?? .initial) : nil
        self.epoch = epoch
        self.seq = seq
        self.firstUpdateID = firstUpdateID
        self.lastUpdateID = lastUpdateID
        self.depth = depth
        self.chunk = chunk
        self.lastChunk = lastChunk
        self.bids = bids
        self.asks = asks
        self.checksum = checksum
        self.ts = ts
        self.recvTs = recvTs
        self.instance = instance
    }

    public var key: String { "\(source):\(symbol)" }

    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: 192 + 40 * (bids.count + asks.count))
        writer.beginObject()
        writer.key("v"); writer.number(Int64(Self.schemaVersion))
        writer.key("source"); writer.string(source)
        writer.key("symbol"); writer.string(symbol)
        writer.key("venue_symbol"); writer.string(venueSymbol)
        writer.key("kind"); writer.string(kind.rawValue)
        writer.key("reason"); writer.string(reason?.rawValue)
        writer.key("epoch"); writer.number(epoch)
        writer.key("seq"); writer.number(seq)
        writer.key("first_update_id"); writer.number(firstUpdateID)
        writer.key("last_update_id"); writer.number(lastUpdateID)
        writer.key("depth"); writer.number(depth.map(Int64.init))
        writer.key("chunk"); writer.number(Int64(chunk))
        writer.key("last_chunk"); writer.bool(lastChunk)
        for (name, levels) in [("bids", bids), ("asks", asks)] {
            writer.key(name)
            writer.beginArray()
            for level in levels { writer.stringArray([level.price, level.quantity]) }
            writer.endArray()
        }
        writer.key("checksum")
        if let checksum {
            writer.beginObject()
            writer.key("kind"); writer.string(checksum.kind.rawValue)
            writer.key("value"); writer.number(Int64(checksum.value))
            writer.key("verified"); writer.bool(checksum.verified)
            writer.endObject()
        } else {
            writer.null()
        }
        writer.key("ts"); writer.number(ts)
        writer.key("recv_ts"); writer.number(recvTs)
        writer.key("instance"); writer.string(instance)
        writer.endObject()
        return writer.bytes
    }

    /// Reads a message written by ``jsonBytes()``; every level is checked (``BookLevel/validated(price:quantity:)``).
    public init(json: [UInt8]) throws(ContractError) {
        let value: JSONValue
        do { value = try JSONParser().parse(json) } catch {
            throw ContractError(message: "book message: not JSON (\(error))")
        }
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws(ContractError) -> T { try value.contractField(name, in: "book message", read) }
        func optional<T>(_ name: String, _ read: (JSONValue) -> T?) throws(ContractError) -> T? {
            guard let member = value[name] else { throw ContractError(message: "book message: missing '\(name)'") }
            if member.isNull { return nil }
            guard let result = read(member) else { throw ContractError(message: "book message: invalid '\(name)'") }
            return result
        }
        func levels(_ name: String) throws(ContractError) -> [BookLevel] {
            let pairs = try field(name, { $0.arrayValue })
            var result: [BookLevel] = []
            result.reserveCapacity(pairs.count)
            for pair in pairs {
                guard let items = pair.arrayValue, items.count == 2, let price = items[0].stringValue,
                      let quantity = items[1].stringValue else {
                    throw ContractError(message: "book message: '\(name)' holds a level that is not [\"price\",\"quantity\"]")
                }
                do { result.append(try BookLevel.validated(price: price, quantity: quantity).level) } catch {
                    throw ContractError(message: "book message: \(name): \(error.detail)", reason: "invalid_decimal")
                }
            }
            return result
        }
        guard try field("v", { $0.int64Value }) == Int64(Self.schemaVersion) else {
            throw ContractError(message: "book message: unsupported version")
        }
        let kind = try field("kind", { $0.stringValue.flatMap(Kind.init(rawValue:)) })
        let reason = try optional("reason", { $0.stringValue.flatMap(SnapshotReason.init(rawValue:)) })
        guard (kind == .snapshot) == (reason != nil) else {
            throw ContractError(message: "book message: 'reason' must be set on snapshots and null on deltas")
        }
        let epoch = try field("epoch", { $0.int64Value }), seq = try field("seq", { $0.int64Value })
        guard epoch >= 1, seq >= 1, epoch <= ContractLimits.maxSequence, seq <= ContractLimits.maxSequence else {
            throw ContractError(message: "book message: epoch \(epoch) and seq \(seq) must be 1 ... 2^62", reason: "invalid_sequence")
        }
        let depth = try optional("depth", { $0.int64Value.flatMap { (1...1_000_000).contains($0) ? Int($0) : nil } })
        let chunk = try field("chunk", { $0.int64Value.flatMap { (0...1_000_000).contains($0) ? Int($0) : nil } })
        let lastChunk = try field("last_chunk", { $0.boolValue })
        guard kind == .snapshot || (chunk == 0 && lastChunk) else {
            throw ContractError(message: "book message: a delta is never chunked")
        }
        let checksum = try optional("checksum", { member -> BookChecksum? in
            guard let kind = member["kind"]?.stringValue.flatMap(BookChecksum.Kind.init(rawValue:)),
                  let number = member["value"]?.int64Value, let value = UInt32(exactly: number),
                  let verified = member["verified"]?.boolValue else { return nil }
            return BookChecksum(kind: kind, value: value, verified: verified)
        })
        self.init(source: try field("source", { $0.stringValue }), symbol: try field("symbol", { $0.stringValue }),
                  venueSymbol: try field("venue_symbol", { $0.stringValue }), kind: kind, reason: reason,
                  epoch: epoch, seq: seq,
                  firstUpdateID: try optional("first_update_id", { $0.int64Value }),
                  lastUpdateID: try optional("last_update_id", { $0.int64Value }),
                  depth: depth, chunk: chunk, lastChunk: lastChunk, bids: try levels("bids"), asks: try levels("asks"),
                  checksum: checksum, ts: try field("ts", { $0.int64Value }), recvTs: try field("recv_ts", { $0.int64Value }),
                  instance: try field("instance", { $0.stringValue }))
        do throws(ContractLimits.Violation) {
            try ContractLimits.checkSource(source)
            try ContractLimits.checkSymbol(symbol)
            if !venueSymbol.isEmpty { try ContractLimits.checkVenueSymbol(venueSymbol) }
            try ContractLimits.checkSequence(firstUpdateID, field: "first_update_id")
            try ContractLimits.checkSequence(lastUpdateID, field: "last_update_id")
            try ContractLimits.checkEventTime(ts, field: "ts")
            try ContractLimits.checkEventTime(recvTs, field: "recv_ts")
            try ContractLimits.checkText(instance, field: "instance", maxBytes: ContractLimits.maxInstanceBytes)
        } catch {
            throw ContractError(message: "book message: \(error.detail)", reason: error.reason)
        }
    }

    /// Levels per snapshot chunk by default: ~40 bytes each, so a chunk stays far below Kafka's default
    /// 1 MB message limit.
    public static let defaultChunkLevels = 5_000

    /// `self` (a snapshot holding the whole book) split into chunks of at most `levelsPerChunk` levels,
    /// bids first then asks, with consecutive `seq` from `self.seq`. A book that fits is one chunk.
    public func chunked(levelsPerChunk: Int = BookMessage.defaultChunkLevels) -> [BookMessage] {
        precondition(levelsPerChunk > 0)
        guard kind == .snapshot, bids.count + asks.count > levelsPerChunk else { return [self] }
        let all = bids.map { (OrderBook.Side.bid, $0) } + asks.map { (OrderBook.Side.ask, $0) }
        var chunks: [BookMessage] = []
        var start = 0
        while start < all.count {
            let end = min(start + levelsPerChunk, all.count)
            var piece = self
            piece.chunk = chunks.count
            piece.seq = seq + Int64(chunks.count)
            piece.lastChunk = end == all.count
            piece.bids = all[start..<end].filter { $0.0 == .bid }.map(\.1)
            piece.asks = all[start..<end].filter { $0.0 == .ask }.map(\.1)
            // The venue's checksum describes the whole book: only the last chunk carries it.
            piece.checksum = piece.lastChunk ? checksum : nil
            chunks.append(piece)
            start = end
        }
        return chunks
    }
}
