import FXContracts
import FXVenues

extension FeedConnection {
    /// Replays one captured record on this connection (its clock reads the record's receive time): a frame
    /// goes through the same path as a live one; a control record moves the feed tracker as the live socket
    /// did. Order books are not rebuilt (a replaying connection keeps none).
    /// - Returns: false for a frame this transport cannot replay (a Lightstreamer session's lines).
    func replay(_ record: RawRecord, control: RawControl?, attempt: Attempt) async -> Bool {
        let now = clock.now()
        switch record.kind {
        case .frame:
            if record.cut {
                return true   // the capture kept only its first bytes: the replay cannot read it (counted by the caller)
            } else if record.truncated {
                await handle(.line(record.value), attempt: attempt, truncated: true)
            } else if let fullLength = record.fullLength {
                oversized(record.value, total: Int(clamping: fullLength), limit: record.limit.map { Int(clamping: $0) })
            } else if provider.transport == .lightstreamer {
                return false
            } else {
                await handle(record.value, attempt: attempt)
            }
        case .control:
            switch control {
            case .open?:
                tracker.withLock {
                    $0.connecting()
                    $0.connected(now: now, monotonic: now)
                }
            case .subscribe?:
                tracker.withLock { $0.subscribed(now: now, monotonic: now, acknowledged: false) }
            case .close(let detail)?:
                tracker.withLock { $0.disconnected(now: now, detail: detail) }
            case .watchdog?:
                _ = tracker.withLock { $0.watchdog(now: now, monotonic: now) }
            case .stop?:
                closeOpenGaps()
            case .start?, .resubscribe?, .gap?, nil:
                break
            }
        }
        return true
    }
}
