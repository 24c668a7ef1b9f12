import FXContracts
import FXVenues

extension FeedConnection {
    /// Replays one captured record on this connection (its clock reads the record's receive time): a frame
    /// goes through the same path as a live one; a control record moves the feed tracker as the live socket
    /// did. Order books are not rebuilt (a replaying connection keeps none).
    /// A Lightstreamer session is driven by its captured messages and losses, as live; what it would send is
    /// dropped.
    func replay(_ record: RawRecord, control: RawControl?, attempt: Attempt) async {
        let now = clock.now()
        switch record.kind {
        case .frame:
            if record.cut {
                return   // the capture kept only its first bytes: the replay cannot read it (counted by the caller)
            } else if record.truncated {
                await handle(.line(record.value), attempt: attempt, truncated: true)
            } else if let fullLength = record.fullLength {
                oversized(record.value, total: Int(clamping: fullLength), limit: record.limit.map { Int(clamping: $0) })
            } else if provider.transport == .lightstreamer {
                _ = await lightstreamerMessage(record.value, outbound: nil, attempt: attempt, captured: false)
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
                if provider.transport == .lightstreamer { replayLightstreamerOpen() }
            case .sessionLost(let reason)?:
                _ = lightstreamer.withLock { $0.session?.socketLost(reason) }
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
    }

    /// A socket opened on a Lightstreamer feed: as live, a new login's session (or the renewed one) when
    /// there is no endpoint or the session is gone, then the session's handshake (not sent).
    private func replayLightstreamerOpen() {
        let subscriptions = (try? provider.lightstreamerSubscriptions(symbols: settings.symbols)) ?? []
        lightstreamer.withLock { link in
            if link.needsLogin { link.loggedIn(LightstreamerEndpoint(url: "replay", user: "replay", password: "replay"), subscriptions: subscriptions) }
            _ = link.session?.opened()
        }
    }
}
