/// A candle timeframe: buckets aligned to UTC boundaries by event time (`1s`, `1m`, `5m`, `15m`, `1h`,
/// `4h`, `1d`, or any `<n>s|m|h|d` that divides a day).
public struct Timeframe: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let seconds: Int64

    public init?(_ name: String) {
        guard let unit = name.last, let count = Int64(name.dropLast()), count > 0 else { return nil }
        let multiplier: Int64
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3_600
        case "d": multiplier = 86_400
        default: return nil
        }
        let seconds = count * multiplier
        // Buckets must tile the UTC day (1d included) so every bucket starts on a UTC boundary.
        guard seconds <= 86_400, 86_400 % seconds == 0 else { return nil }
        self.name = name
        self.seconds = seconds
    }

    public var description: String { name }
    public var nanoseconds: Int64 { seconds * 1_000_000_000 }

    /// Start of the bucket holding `ts` (ns).
    public func bucketStart(_ ts: Int64) -> Int64 { (ts / nanoseconds) * nanoseconds }

    public static let defaults: [Timeframe] = ["1m", "5m", "15m", "1h", "4h", "1d"].compactMap(Timeframe.init)
}
