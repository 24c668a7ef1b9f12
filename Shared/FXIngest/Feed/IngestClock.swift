import FXCore

/// Where the ingestor reads time: the wall clock (ns since the epoch: receive times, event-time windows,
/// market hours) and a monotonic clock (ns that never step: how long a feed has been silent). Tests shift
/// the wall clock (e.g. to run the watchdog inside the forex weekend, or to step it under a live feed).
public struct IngestClock: Sendable {
    public let now: @Sendable () -> Int64
    public let monotonic: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> Int64 = IngestClock.continuousNanoseconds) {
        self.now = now
        self.monotonic = monotonic
    }

    public static let system = IngestClock { WallClock.nanoseconds() }

    /// The system clock moved by `offset` nanoseconds (the monotonic clock is not).
    public static func shifted(by offset: Int64) -> IngestClock {
        IngestClock { WallClock.nanoseconds() + offset }
    }

    /// Nanoseconds on `ContinuousClock` since the first reading in this process.
    @Sendable public static func continuousNanoseconds() -> Int64 {
        (ContinuousClock.now - origin).nanosecondsClamped
    }

    private static let origin = ContinuousClock.now
}
