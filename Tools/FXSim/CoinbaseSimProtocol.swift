import FXCore

/// Coinbase Exchange's WebSocket messages and REST candles, as documented.
enum CoinbaseSimProtocol {
    static func match(_ instrument: SimInstrument, _ trade: SimTrade, sequence: Int64, time: Int64, type: String = "match") -> String {
        var w = JSONWriter(capacity: 320)
        w.beginObject()
        w.key("type"); w.string(type)
        w.key("trade_id"); w.number(trade.tradeID)
        w.key("maker_order_id"); w.string(orderID(trade.tradeID, 1))
        w.key("taker_order_id"); w.string(orderID(trade.tradeID, 2))
        w.key("side"); w.string(trade.makerSideSell ? "sell" : "buy")
        w.key("size"); w.string(instrument.size(trade.sizeUnits))
        w.key("price"); w.string(instrument.price(trade.priceUnits))
        w.key("product_id"); w.string(instrument.symbol)
        w.key("sequence"); w.number(sequence)
        w.key("time"); w.string(Timestamps.rfc3339(nanoseconds: time))
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func ticker(_ instrument: SimInstrument, _ trade: SimTrade, sequence: Int64, time: Int64) -> String {
        let quote = instrument.quote()
        var w = JSONWriter(capacity: 400)
        w.beginObject()
        w.key("type"); w.string("ticker")
        w.key("sequence"); w.number(sequence)
        w.key("product_id"); w.string(instrument.symbol)
        w.key("price"); w.string(instrument.price(trade.priceUnits))
        w.key("best_bid"); w.string(quote.bid)
        w.key("best_bid_size"); w.string(instrument.size(trade.sizeUnits / 2 + 1))
        w.key("best_ask"); w.string(quote.ask)
        w.key("best_ask_size"); w.string(instrument.size(trade.sizeUnits / 3 + 1))
        w.key("side"); w.string(trade.makerSideSell ? "buy" : "sell")
        w.key("time"); w.string(Timestamps.rfc3339(nanoseconds: time))
        w.key("trade_id"); w.number(trade.tradeID)
        w.key("last_size"); w.string(instrument.size(trade.sizeUnits))
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func heartbeat(_ instrument: SimInstrument, sequence: Int64, time: Int64) -> String {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.key("type"); w.string("heartbeat")
        w.key("sequence"); w.number(sequence)
        w.key("last_trade_id"); w.number(instrument.lastTradeID)
        w.key("product_id"); w.string(instrument.symbol)
        w.key("time"); w.string(Timestamps.rfc3339(nanoseconds: time))
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func subscriptions(channels: [String], products: [String]) -> String {
        var w = JSONWriter(capacity: 128 + products.count * 40)
        w.beginObject()
        w.key("type"); w.string("subscriptions")
        w.key("channels"); w.beginArray()
        for channel in channels {
            w.beginObject()
            w.key("name"); w.string(channel)
            w.key("product_ids"); w.stringArray(products)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func error(_ message: String, reason: String) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("type"); w.string("error")
        w.key("message"); w.string(message)
        w.key("reason"); w.string(reason)
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    /// A deterministic UUID-shaped order id.
    static func orderID(_ tradeID: Int64, _ side: Int) -> String {
        let hex = String(UInt64(bitPattern: tradeID) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(side), radix: 16)
        let padded = String(repeating: "0", count: max(0, 32 - hex.count)) + hex
        let c = Array(padded.suffix(32))
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    static let granularities: Set<Int64> = [60, 300, 900, 3600, 21600, 86400]

    /// `GET /products/{id}/candles`: `[[time, low, high, open, close, volume], ...]`, newest first, at most
    /// 300 rows; numbers are exact decimal literals.
    static func candlesBody(_ rows: [(time: Int64, candle: SimCandleBook.Candle)], instrument: SimInstrument) -> String {
        var w = JSONWriter(capacity: 64 + rows.count * 80)
        w.beginArray()
        for row in rows.reversed() {
            w.beginArray()
            w.number(row.time)
            w.number(instrument.price(row.candle.low))
            w.number(instrument.price(row.candle.high))
            w.number(instrument.price(row.candle.open))
            w.number(instrument.price(row.candle.close))
            w.number(instrument.size(row.candle.volume))
            w.endArray()
        }
        w.endArray()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
