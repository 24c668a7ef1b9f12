import FXCore

/// Malformed frames the simulator sends on command (`POST /control/malformed?kind=...`).
enum SimFaults {
    static let kinds = ["json", "utf8", "nan", "negative", "zero", "unknown_type", "missing_field", "oversized",
                        "far_future", "ancient", "huge_sequence", "nul_trade_id", "huge_price", "unsubscribed", "half_line"]

    static func malformed(kind: String, venue: SimInstrument.Venue, symbol: String, size: Int, now: Int64) throws(SimError) -> SimClient.Outgoing {
        let time = Timestamps.rfc3339(nanoseconds: now)
        let ms = now / 1_000_000
        func trade(price: String, time: String = time, ms: String = String(ms), sequence: String = "1", tradeID: String = "1",
                   symbol: String = symbol) -> String {
            switch venue {
            case .coinbase:
                return #"{"type":"match","trade_id":\#(tradeID),"side":"buy","size":"1.0","price":"\#(price)","product_id":"\#(symbol)","sequence":\#(sequence),"time":"\#(time)"}"#
            case .finnhub:
                return #"{"data":[{"p":\#(price),"s":"\#(symbol)","t":\#(ms),"v":0}],"type":"trade"}"#
            case .oanda:
                return #"{"type":"PRICE","time":"\#(time)","bids":[{"price":"\#(price)","liquidity":1000000}],"asks":[{"price":"\#(price)","liquidity":1000000}],"tradeable":true,"instrument":"\#(symbol)"}"#
            case .ig:
                return "U,1,1,\(price)|\(price)|#|#|#|\(ms)"
            }
        }
        switch kind {
        case "json": return .text(#"{"type":"match","price":"#)
        // OANDA only: the connection drops inside a line.
        case "half_line": return .cut(Array(#"{"type":"PRICE","instrument":"\#(symbol)","ti"#.utf8))
        case "utf8": return .rawText(Array(#"{"type":"match","product_id":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8))
        case "nan": return .text(venue == .coinbase ? trade(price: "NaN") : #"{"data":[{"p":NaN,"s":"\#(symbol)","t":\#(ms),"v":0}],"type":"trade"}"#)
        case "negative": return .text(trade(price: venue == .coinbase ? "-1.5" : "-1.5"))
        case "zero": return .text(trade(price: "0"))
        case "unknown_type": return .text(#"{"type":"surprise","product_id":"\#(symbol)"}"#)
        case "missing_field":
            return .text(venue == .coinbase ? #"{"type":"match","trade_id":1,"size":"1.0","price":"1.0","time":"\#(time)"}"# : #"{"data":[{"s":"\#(symbol)","t":\#(ms)}],"type":"trade"}"#)
        case "oversized":
            return .text(#"{"type":"match","padding":""# + String(repeating: "x", count: max(size, 1)) + #""}"#)
        // Values a parser reads but the contract bounds (each a reject at the ingestor, never a crash).
        case "far_future": return .text(trade(price: "1.0", time: "2262-04-11T23:47:16.9Z", ms: "9223372036854"))
        case "ancient": return .text(trade(price: "1.0", time: "1700-01-01T00:00:00Z", ms: "-1"))
        case "huge_sequence": return .text(trade(price: "1.0", sequence: "9223372036854775807"))
        case "nul_trade_id": return .text(trade(price: "1.0", tradeID: #""a\u0000b""#))
        case "huge_price": return .text(trade(price: String(repeating: "9", count: 17_000)))
        case "unsubscribed": return .text(trade(price: "1.0", symbol: venue == .coinbase ? "ZZZ-USD" : venue == .oanda ? "ZZZ_USD" : "BINANCE:ZZZUSDT"))
        default:
            throw SimError("unknown malformed kind '\(kind)'; known: \(kinds.joined(separator: ", "))")
        }
    }
}
