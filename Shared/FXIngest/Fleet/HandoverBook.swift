import FXContracts

/// The shards this instance took over, and what it learns about them: the previous owners' newest
/// event time per symbol (from their checkpoints on the control topic) and this instance's first data
/// (the connection's `bootstrap` events). Once a shard has been here for the settle time (long enough to
/// read the control partition's newest checkpoints), each symbol whose first data came after its
/// previous owner's last event is reported once as a `handover` gap between the two — unless another
/// instance checkpointed the shard as still streaming after the takeover (a redundant copy): its data
/// covers the window, nothing was lost.
struct HandoverBook: Sendable {
    struct Entry: Sendable {
        var id: String
        var since: Int64
        var previous: [String: (ts: Int64, instance: String, released: Bool)] = [:]
        var first: [String: GapEvent] = [:]
        var reported: Set<String> = []
        /// Another instance still streams this shard (a checkpoint of it, not released, written after the takeover).
        var liveCopy: String?
    }

    let instance: String
    /// How long after the start checkpoints are still read before the windows are reported (ns).
    let settle: Int64
    private var entries: [Int: Entry] = [:]

    init(instance: String, settle: Int64) {
        self.instance = instance
        self.settle = settle
    }

    mutating func started(_ shard: Int, id: String, now: Int64) {
        entries[shard] = Entry(id: id, since: now)
    }

    mutating func stopped(_ shard: Int) {
        entries[shard] = nil
    }

    /// A checkpoint of another instance for a shard streaming here (this instance's own are skipped).
    mutating func read(_ checkpoint: ShardCheckpoint, shard: Int) {
        guard checkpoint.instance != instance, var entry = entries[shard], entry.id == checkpoint.shard else { return }
        if !checkpoint.released, checkpoint.timestamp >= entry.since { entry.liveCopy = checkpoint.instance }
        for (venueSymbol, ts) in checkpoint.last {
            let known = entry.previous[venueSymbol]
            // The newest event wins; on a tie (no event since the last regular checkpoint) the release says more.
            guard ts > known?.ts ?? .min || (ts == known?.ts && checkpoint.released && known?.released == false) else { continue }
            entry.previous[venueSymbol] = (ts, checkpoint.instance, checkpoint.released)
        }
        entries[shard] = entry
    }

    /// The shard's connection announced a symbol's first data here.
    mutating func firstData(_ bootstrap: GapEvent, shard: Int) {
        guard bootstrap.reason == .bootstrap, var entry = entries[shard], entry.first[bootstrap.venueSymbol] == nil else { return }
        entry.first[bootstrap.venueSymbol] = bootstrap
        entries[shard] = entry
    }

    /// The windows to report now: for shards here for the settle time, each symbol with first data not
    /// reported yet (once per symbol and takeover).
    mutating func due(now: Int64) -> [GapEvent] {
        var gaps: [GapEvent] = []
        for (shard, var entry) in entries.sorted(by: { $0.key < $1.key }) where now - entry.since >= settle {
            for (venueSymbol, first) in entry.first.sorted(by: { $0.key < $1.key }) where !entry.reported.contains(venueSymbol) {
                entry.reported.insert(venueSymbol)
                guard entry.liveCopy == nil, let previous = entry.previous[venueSymbol], previous.ts < first.to else { continue }
                gaps.append(GapEvent(source: first.source, symbol: first.symbol, venueSymbol: venueSymbol, from: previous.ts, to: first.to,
                                     reason: .handover, detectedAt: now,
                                     detail: "shard \(entry.id) taken over from \(previous.instance) " +
                                             (previous.released ? "(released cleanly)" : "(from its last checkpoint: it stopped without releasing the shard)"),
                                     instance: instance))
            }
            entries[shard] = entry
        }
        return gaps
    }
}
