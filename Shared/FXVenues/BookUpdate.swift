import FXContracts
import FXCore

/// One venue message about one symbol's order book, as a normalizer reads it (levels with the venue's own
/// text; nothing applied yet). The ingestor's ``BookKeeper`` applies, verifies and numbers it.
public struct BookUpdate: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The whole book (Coinbase `snapshot`, Kraken `type: snapshot`, a Binance REST depth snapshot).
        case snapshot
        /// Changed levels with absolute quantities; zero deletes.
        case update
    }

    public var venueSymbol: String
    public var kind: Kind
    public var bids: [BookLevel]
    public var asks: [BookLevel]
    /// The venue's checksum of its book after this message, where it sends one.
    public var checksum: (kind: BookChecksum.Kind, value: UInt32)?
    /// The venue's update ids this message covers (Binance `U`/`u`; a REST snapshot's `lastUpdateId` in both).
    public var firstUpdateID: Int64?
    public var lastUpdateID: Int64?
    /// Venue time (ns); nil when the venue gives none (the receive time is used).
    public var timestamp: Int64?

    public init(venueSymbol: String, kind: Kind, bids: [BookLevel], asks: [BookLevel],
                checksum: (kind: BookChecksum.Kind, value: UInt32)? = nil,
                firstUpdateID: Int64? = nil, lastUpdateID: Int64? = nil, timestamp: Int64? = nil) {
        self.venueSymbol = venueSymbol
        self.kind = kind
        self.bids = bids
        self.asks = asks
        self.checksum = checksum
        self.firstUpdateID = firstUpdateID
        self.lastUpdateID = lastUpdateID
        self.timestamp = timestamp
    }

    public static func == (lhs: BookUpdate, rhs: BookUpdate) -> Bool {
        lhs.venueSymbol == rhs.venueSymbol && lhs.kind == rhs.kind && lhs.bids == rhs.bids && lhs.asks == rhs.asks
            && lhs.checksum?.kind == rhs.checksum?.kind && lhs.checksum?.value == rhs.checksum?.value
            && lhs.firstUpdateID == rhs.firstUpdateID && lhs.lastUpdateID == rhs.lastUpdateID && lhs.timestamp == rhs.timestamp
    }
}

extension JSONValue {
    /// A book level's price or quantity as the venue wrote it: a JSON number's own text (an exponent
    /// written out in full: `9.4e-05` -> `0.000094`), or a string's text (checked when the level is applied).
    public var levelText: String? {
        switch self {
        case .number(let literal):
            if literal.utf8.contains(where: { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
                return DecimalText(jsonNumber: literal.utf8)?.description
            }
            return literal
        case .string(let text): return text
        default: return nil
        }
    }
}
