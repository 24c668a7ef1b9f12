import FXCore

/// Where the ingestor reads wall-clock time (ns since the epoch): the system clock, or a shifted one in
/// tests (e.g. to run the watchdog inside the forex weekend).
public struct IngestClock: Sendable {
    public let now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) {
        self.now = now
    }

    public static let system = IngestClock { WallClock.nanoseconds() }

    /// The system clock moved by `offset` nanoseconds.
    public static func shifted(by offset: Int64) -> IngestClock {
        IngestClock { WallClock.nanoseconds() + offset }
    }
}
