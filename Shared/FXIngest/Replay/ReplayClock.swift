import Synchronization

/// A replay's clock: it reads the receive time of the record being replayed, for the wall clock and the
/// monotonic one alike, so what the connection computes from time is computed from the capture.
final class ReplayClock: Sendable {
    private let current = Atomic<Int64>(0)

    func set(_ nanoseconds: Int64) { current.store(nanoseconds, ordering: .relaxed) }

    var clock: IngestClock {
        IngestClock(now: { self.current.load(ordering: .relaxed) }, monotonic: { self.current.load(ordering: .relaxed) })
    }
}
