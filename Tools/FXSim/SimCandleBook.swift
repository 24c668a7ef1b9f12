/// One-minute candles of every trade the simulator generated (whether or not a client received it), so
/// the REST endpoints agree with the streamed ticks and backfill can be verified.
struct SimCandleBook: Sendable {
    struct Candle: Sendable, Equatable {
        var open: Int64, high: Int64, low: Int64, close: Int64
        var volume: Int64
        var ticks: Int64
    }

    /// symbol -> minute start (seconds) -> candle.
    private(set) var minutes: [String: [Int64: Candle]] = [:]
    /// Minutes kept per symbol (default one week).
    var retentionMinutes: Int64 = 7 * 24 * 60

    mutating func record(symbol: String, atNanoseconds ns: Int64, priceUnits: Int64, sizeUnits: Int64) {
        let minute = (ns / 1_000_000_000) / 60 * 60
        var book = minutes[symbol, default: [:]]
        if var candle = book[minute] {
            candle.high = max(candle.high, priceUnits)
            candle.low = min(candle.low, priceUnits)
            candle.close = priceUnits
            candle.volume += sizeUnits
            candle.ticks += 1
            book[minute] = candle
        } else {
            book[minute] = Candle(open: priceUnits, high: priceUnits, low: priceUnits, close: priceUnits, volume: sizeUnits, ticks: 1)
            book = book.filter { $0.key > minute - retentionMinutes * 60 }
        }
        minutes[symbol] = book
    }

    /// Candles of `granularity` seconds (a multiple of 60) whose start lies in `[start, end]`, oldest first.
    func candles(symbol: String, granularity: Int64, start: Int64, end: Int64) -> [(time: Int64, candle: Candle)] {
        guard let book = minutes[symbol] else { return [] }
        var buckets: [Int64: Candle] = [:]
        for minute in book.keys.sorted() {
            let bucket = minute / granularity * granularity
            guard bucket >= start / granularity * granularity, bucket <= end, let value = book[minute] else { continue }
            if var candle = buckets[bucket] {
                candle.high = max(candle.high, value.high)
                candle.low = min(candle.low, value.low)
                candle.close = value.close
                candle.volume += value.volume
                candle.ticks += value.ticks
                buckets[bucket] = candle
            } else {
                buckets[bucket] = value
            }
        }
        return buckets.keys.sorted().map { ($0, buckets[$0]!) }
    }
}
