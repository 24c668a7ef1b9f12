import FXCore

/// The candle changes of one flush, combined in memory from its new distinct ticks before PostgreSQL
/// sees them: one row per candle key (source, symbol, timeframe, price type, bucket) instead of one per
/// tick and timeframe. The merge rules are order-independent (open/close by order key, extremes, sums),
/// so combining ticks first and merging the result into the stored candle gives the same candle as
/// merging them one by one.
///
/// Ticks are combined once at the base granularity — the greatest common divisor of the timeframes,
/// whose epoch-aligned buckets tile every timeframe's buckets — and those points are rolled up to each
/// timeframe. Sums and mid prices are exact (``ExactDecimal``).
struct CandleAccumulator {
    enum PriceType: UInt8 {
        case trade, mid, bid, ask
        var name: String {
            switch self {
            case .trade: "trade"
            case .mid: "mid"
            case .bid: "bid"
            case .ask: "ask"
            }
        }
    }

    struct Key: Hashable {
        var source: String
        var symbol: String
        var priceType: PriceType
        /// Bucket start, seconds since the epoch.
        var bucket: Int64
    }

    /// One candle's worth of ticks, combinable with another in any order.
    struct Point {
        var open: DecimalText, openKey: TickOrder, openTs: Int64
        var close: DecimalText, closeKey: TickOrder, closeTs: Int64
        var high: DecimalText, low: DecimalText
        var volume: ExactDecimal, notional: ExactDecimal
        var tickCount: Int64
        var partition: Int32

        init(price: DecimalText, size: ExactDecimal, notional: ExactDecimal, orderKey: TickOrder, ts: Int64, partition: Int32) {
            (open, openKey, openTs) = (price, orderKey, ts)
            (close, closeKey, closeTs) = (price, orderKey, ts)
            (high, low) = (price, price)
            (volume, self.notional) = (size, notional)
            tickCount = 1
            self.partition = partition
        }

        /// Adds one tick: ``combine(_:)`` with a one-tick point, without building it (no copies of the
        /// price and order key into a point that is dropped).
        mutating func add(price: DecimalText, size: ExactDecimal, notional: ExactDecimal, orderKey: TickOrder, ts: Int64, partition: Int32) {
            if orderKey < openKey { (open, openKey) = (price, orderKey) }
            if closeKey < orderKey { (close, closeKey) = (price, orderKey) }
            openTs = min(openTs, ts)
            closeTs = max(closeTs, ts)
            if price > high { high = price }
            if price < low { low = price }
            volume += size
            self.notional += notional
            tickCount += 1
            self.partition = max(self.partition, partition)
        }

        mutating func combine(_ other: Point) {
            if other.openKey < openKey { (open, openKey) = (other.open, other.openKey) }
            if closeKey < other.closeKey { (close, closeKey) = (other.close, other.closeKey) }
            openTs = min(openTs, other.openTs)
            closeTs = max(closeTs, other.closeTs)
            if other.high > high { high = other.high }
            if other.low < low { low = other.low }
            volume += other.volume
            notional += other.notional
            tickCount += other.tickCount
            partition = max(partition, other.partition)
        }

        /// Byte order, as PostgreSQL's `COLLATE "C"` compares the stored keys.
        static func precedes(_ a: String, _ b: String) -> Bool { TickOrder.compareBytes(a, b) < 0 }
    }

    let timeframes: [Timeframe]
    let bidAsk: Bool
    let baseSeconds: Int64
    private(set) var points: [Key: Point] = [:]

    init(timeframes: [Timeframe], bidAsk: Bool) {
        self.timeframes = timeframes
        self.bidAsk = bidAsk
        func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }
        baseSeconds = timeframes.map(\.seconds).reduce(0, gcd)
    }

    /// Adds one new distinct tick (its price types: trade; mid, and bid/ask when enabled, for quotes).
    mutating func add(_ tick: TickRecord, orderKey: TickOrder, partition: Int32) {
        let bucket = (tick.ts / 1_000_000_000) / baseSeconds * baseSeconds
        func add(_ type: PriceType, _ price: DecimalText, size: ExactDecimal, notional: ExactDecimal) {
            let key = Key(source: tick.source, symbol: tick.symbol, priceType: type, bucket: bucket)
            if let index = points.index(forKey: key) {
                points.values[index].add(price: price, size: size, notional: notional, orderKey: orderKey, ts: tick.ts, partition: partition)
            } else {
                points[key] = Point(price: price, size: size, notional: notional, orderKey: orderKey, ts: tick.ts, partition: partition)
            }
        }
        switch tick.kind {
        case .trade:
            // A trade's price is positive and its size non-negative (validated by TickRecord).
            guard let price = tick.price, let size = tick.size, let exactPrice = ExactDecimal(price), let exactSize = ExactDecimal(size) else { return }
            add(.trade, price, size: exactSize, notional: exactPrice * exactSize)
        case .quote:
            if let bid = tick.bid, let ask = tick.ask, let exactBid = ExactDecimal(bid), let exactAsk = ExactDecimal(ask) {
                add(.mid, (exactBid + exactAsk).halved.decimalText, size: .zero, notional: .zero)
            }
            if bidAsk, let bid = tick.bid { add(.bid, bid, size: .zero, notional: .zero) }
            if bidAsk, let ask = tick.ask { add(.ask, ask, size: .zero, notional: .zero) }
        }
    }

    /// Every timeframe's candle changes, as rows of `stage_candles` (see ``CandleStore``).
    func stageRows() -> [[String?]] {
        struct FrameKey: Hashable { var base: Key; var frame: Int }
        var candles: [FrameKey: Point] = [:]
        candles.reserveCapacity(points.count * timeframes.count)
        for (key, point) in points {
            for (frame, timeframe) in timeframes.enumerated() {
                var framed = key
                framed.bucket = key.bucket / timeframe.seconds * timeframe.seconds
                let frameKey = FrameKey(base: framed, frame: frame)
                if candles[frameKey]?.combine(point) == nil { candles[frameKey] = point }
            }
        }
        return candles.map { key, point in
            [key.base.source, key.base.symbol, timeframes[key.frame].name, key.base.priceType.name, String(key.base.bucket),
             String(point.partition), point.open.text, point.high.text, point.low.text, point.close.text,
             point.volume.decimalText.text, String(point.tickCount), point.notional.decimalText.text,
             String(point.openTs), String(point.closeTs), point.openKey.text, point.closeKey.text]
        }
    }
}
