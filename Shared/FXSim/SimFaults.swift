import FXCore

/// Malformed frames the simulator sends on command (`POST /control/malformed?kind=...`).
enum SimFaults {
    static let kinds = ["json", "utf8", "nan", "negative", "zero", "unknown_type", "missing_field", "oversized"]

    static func malformed(kind: String, venue: SimInstrument.Venue, symbol: String, size: Int, now: Int64) throws(SimError) -> SimClient.Outgoing {
        let time = Timestamps.rfc3339(nanoseconds: now)
        let ms = now / 1_000_000
        func trade(price: String) -> String {
            switch venue {
            case .coinbase:
                return #"{"type":"match","trade_id":1,"side":"buy","size":"1.0","price":"\#(price)","product_id":"\#(symbol)","sequence":1,"time":"\#(time)"}"#
            case .finnhub:
                return #"{"data":[{"p":\#(price),"s":"\#(symbol)","t":\#(ms),"v":0}],"type":"trade"}"#
            }
        }
        switch kind {
        case "json": return .text(#"{"type":"match","price":"#)
        case "utf8": return .rawText(Array(#"{"type":"match","product_id":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8))
        case "nan": return .text(venue == .coinbase ? trade(price: "NaN") : #"{"data":[{"p":NaN,"s":"\#(symbol)","t":\#(ms),"v":0}],"type":"trade"}"#)
        case "negative": return .text(trade(price: venue == .coinbase ? "-1.5" : "-1.5"))
        case "zero": return .text(trade(price: "0"))
        case "unknown_type": return .text(#"{"type":"surprise","product_id":"\#(symbol)"}"#)
        case "missing_field":
            return .text(venue == .coinbase ? #"{"type":"match","trade_id":1,"size":"1.0","price":"1.0","time":"\#(time)"}"# : #"{"data":[{"s":"\#(symbol)","t":\#(ms)}],"type":"trade"}"#)
        case "oversized":
            return .text(#"{"type":"match","padding":""# + String(repeating: "x", count: max(size, 1)) + #""}"#)
        default:
            throw SimError("unknown malformed kind '\(kind)'; known: \(kinds.joined(separator: ", "))")
        }
    }
}
