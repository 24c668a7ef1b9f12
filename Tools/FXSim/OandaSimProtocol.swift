import FXCore

/// OANDA v20's pricing stream lines and M1 candles, as documented: prices are decimal strings, times
/// RFC 3339 with nanoseconds, one JSON object per line. The simulated quote is one unit either side of
/// the instrument's walk, so its mid is the walk's price and the candle book's mid candles equal the
/// mids of the bid/ask candles served here.
enum OandaSimProtocol {
    static func price(_ instrument: SimInstrument, time: Int64, tradeable: Bool = true) -> String {
        let (bid, ask) = instrument.quote()
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.key("type"); w.string("PRICE")
        w.key("time"); w.string(Timestamps.rfc3339(nanoseconds: time, fractionDigits: 9))
        w.key("bids"); level(&w, bid)
        w.key("asks"); level(&w, ask)
        w.key("closeoutBid"); w.string(bid)
        w.key("closeoutAsk"); w.string(ask)
        w.key("status"); w.string(tradeable ? "tradeable" : "non-tradeable")
        w.key("tradeable"); w.bool(tradeable)
        w.key("instrument"); w.string(instrument.symbol)
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private static func level(_ w: inout JSONWriter, _ price: String) {
        w.beginArray()
        w.beginObject()
        w.key("price"); w.string(price)
        w.key("liquidity"); w.number(Int64(10_000_000))
        w.endObject()
        w.endArray()
    }

    static func heartbeat(time: Int64) -> String {
        #"{"type":"HEARTBEAT","time":"\#(Timestamps.rfc3339(nanoseconds: time, fractionDigits: 9))"}"#
    }

    static let unauthorized = #"{"errorMessage":"Insufficient authorization to perform request."}"#

    /// `GET /v3/instruments/{instrument}/candles?granularity=M1&price=BA`: bid and ask OHLC one unit
    /// below and above the walk's candle, `volume` the tick count.
    static func candlesBody(_ rows: [(time: Int64, candle: SimCandleBook.Candle)], instrument: SimInstrument, granularity: String) -> String {
        var w = JSONWriter(capacity: 128 + rows.count * 220)
        w.beginObject()
        w.key("instrument"); w.string(instrument.symbol)
        w.key("granularity"); w.string(granularity)
        w.key("candles"); w.beginArray()
        for row in rows {
            w.beginObject()
            w.key("complete"); w.bool(row.time + 60 <= WallClock.nanoseconds() / 1_000_000_000)
            w.key("volume"); w.number(row.candle.ticks)
            w.key("time"); w.string(Timestamps.rfc3339(nanoseconds: row.time * 1_000_000_000, fractionDigits: 9))
            for (side, offset) in [("bid", Int64(-1)), ("ask", Int64(1))] {
                w.key(side); w.beginObject()
                for (name, units) in [("o", row.candle.open), ("h", row.candle.high), ("l", row.candle.low), ("c", row.candle.close)] {
                    w.key(name); w.string(instrument.price(max(1, units + offset)))
                }
                w.endObject()
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
