import FXCore
import Synchronization

/// Rung by the gap intake when it recorded a gap: wakes this process's idle repair workers at once. Each
/// worker waits on a ``Doorbell`` of its own, so a ring reaches all of them, and one that is busy finds
/// it rung when it next waits (rings are never lost). Another replica's intake cannot ring it: gaps
/// recorded there are found by the workers' next look, at most `poll_interval` later.
public final class GapBell: Sendable {
    private let doorbells = Mutex<[Doorbell]>([])

    public init() {}

    /// A doorbell for one worker, rung by every ``ring()`` until it is ``remove(_:)``d.
    func doorbell() -> Doorbell {
        let doorbell = Doorbell()
        doorbells.withLock { $0.append(doorbell) }
        return doorbell
    }

    func remove(_ doorbell: Doorbell) {
        doorbells.withLock { $0.removeAll { $0 === doorbell } }
    }

    /// Wakes every worker (one that is not waiting finds the ring when it next waits).
    public func ring() {
        for doorbell in doorbells.withLock({ $0 }) { doorbell.ring() }
    }
}
