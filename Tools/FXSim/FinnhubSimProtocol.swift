import FXCore

/// Finnhub's WebSocket messages and forex candle REST answer, as documented.
enum FinnhubSimProtocol {
    /// One element of a `trade` message's `data` (price as an exact JSON number literal, `t` in ms).
    static func tradeItem(_ instrument: SimInstrument, _ trade: SimTrade, time: Int64) -> String {
        var w = JSONWriter(capacity: 96)
        w.beginObject()
        w.key("p"); w.number(instrument.price(trade.priceUnits))
        w.key("s"); w.string(instrument.symbol)
        w.key("t"); w.number(time / 1_000_000)
        w.key("v"); w.number(instrument.zeroVolume ? "0" : instrument.size(trade.sizeUnits))
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func tradeMessage(_ items: [String]) -> String {
        #"{"data":["# + items.joined(separator: ",") + #"],"type":"trade"}"#
    }

    static let tooManySymbols = #"{"type":"error","msg":"Subscribing to too many symbols"}"#

    static let resolutions: [String: Int64] = ["1": 60, "5": 300, "15": 900, "30": 1800, "60": 3600, "D": 86400, "W": 604800]

    /// `{"s":"ok","t":[...],"o":[...],"h":[...],"l":[...],"c":[...],"v":[...]}` or `{"s":"no_data"}`.
    /// `v` is the tick count for forex (their trades carry volume 0).
    static func candlesBody(_ rows: [(time: Int64, candle: SimCandleBook.Candle)], instrument: SimInstrument) -> String {
        guard !rows.isEmpty else { return #"{"s":"no_data"}"# }
        var w = JSONWriter(capacity: 64 + rows.count * 60)
        w.beginObject()
        w.key("s"); w.string("ok")
        let columns: [(String, (SimCandleBook.Candle) -> String)] = [
            ("o", { instrument.price($0.open) }), ("h", { instrument.price($0.high) }),
            ("l", { instrument.price($0.low) }), ("c", { instrument.price($0.close) }),
            ("v", { instrument.zeroVolume ? String($0.ticks) : instrument.size($0.volume) }),
        ]
        w.key("t"); w.beginArray()
        for row in rows { w.number(row.time) }
        w.endArray()
        for (name, value) in columns {
            w.key(name); w.beginArray()
            for row in rows { w.number(value(row.candle)) }
            w.endArray()
        }
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
