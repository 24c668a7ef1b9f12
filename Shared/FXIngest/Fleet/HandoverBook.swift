import FXContracts

/// The shards this instance took over, and what it learns about them: the previous owners' newest
/// event time per symbol (from their checkpoints on the control topic), the other copies streaming the
/// shard, and this instance's first data (the connection's `bootstrap` events).
///
/// A symbol's window is decided once, the settle time after its first data here (long enough for every
/// other copy to have checkpointed since): nothing was lost when another instance had already been
/// streaming the shard before this takeover and still was at that first data (a redundant copy, or the
/// previous owner overlapping the move); otherwise the window from the previous owners' last event to
/// the first one here is reported as a `handover` gap. A copy that was alive at the takeover (it
/// checkpointed within the settle time before this instance started the shard, or since) but has not
/// yet vouched past that first data is waited for, up to ``patience`` settle times: on a loaded machine
/// its checkpoints can arrive late, and a live copy still streaming means nothing was lost. A dead copy
/// stopped checkpointing a session timeout before the takeover and is not waited for. A shard stopped here
/// before then reports what it knows at once.
struct HandoverBook: Sendable {
    struct Copy: Sendable {
        /// When that instance started streaming the shard, and until when its newest checkpoint vouches
        /// that its stream was complete.
        var since: Int64
        var vouchedUntil: Int64
        /// Its newest checkpoint's time, and whether that one was its release (nothing more will come).
        var newest: Int64
        var released: Bool
    }

    struct Entry: Sendable {
        var id: String
        var since: Int64
        var previous: [String: (ts: Int64, instance: String, released: Bool)] = [:]
        var first: [String: GapEvent] = [:]
        var reported: Set<String> = []
        /// Other instances that streamed the shard, and until when.
        var copies: [String: Copy] = [:]
    }

    let instance: String
    /// How long after a symbol's first data here its window is decided (ns): three health intervals, so
    /// that a copy's checkpoint vouching past that first data has been written and read.
    let settle: Int64
    /// How many settle times a window waits at most for a live copy's late checkpoint.
    static let patience: Int64 = 4
    private var entries: [Int: Entry] = [:]

    init(instance: String, settle: Int64) {
        self.instance = instance
        self.settle = settle
    }

    mutating func started(_ shard: Int, id: String, now: Int64) {
        entries[shard] = Entry(id: id, since: now)
    }

    /// The shard stopped here: the windows of symbols with first data are decided now, with what is known.
    mutating func stopped(_ shard: Int, now: Int64) -> [GapEvent] {
        let gaps = decide(shard, now: now, force: true)
        entries[shard] = nil
        return gaps
    }

    /// A checkpoint of another instance for a shard streaming here (this instance's own are skipped).
    mutating func read(_ checkpoint: ShardCheckpoint, shard: Int) {
        guard checkpoint.instance != instance, var entry = entries[shard], entry.id == checkpoint.shard else { return }
        // Only an instance that streamed the shard before this takeover is a previous owner (a copy
        // started since reports its own window).
        for (venueSymbol, ts) in checkpoint.since < entry.since ? checkpoint.last : [:] {
            let known = entry.previous[venueSymbol]
            // The newest event wins; on a tie (no event since the last regular checkpoint) the release says more.
            guard ts > known?.ts ?? .min || (ts == known?.ts && checkpoint.released && known?.released == false) else { continue }
            entry.previous[venueSymbol] = (ts, checkpoint.instance, checkpoint.released)
        }
        // A regular checkpoint's times are one interval old, so it vouches for the stream up to then; a
        // release's are exact, up to its time.
        let vouched = checkpoint.released ? checkpoint.timestamp : checkpoint.timestamp - settle / 3
        var copy = entry.copies[checkpoint.instance]
            ?? Copy(since: checkpoint.since, vouchedUntil: .min, newest: .min, released: false)
        if vouched >= copy.vouchedUntil {
            copy.since = checkpoint.since
            copy.vouchedUntil = vouched
        }
        if checkpoint.timestamp >= copy.newest {
            copy.newest = checkpoint.timestamp
            copy.released = checkpoint.released
        }
        entry.copies[checkpoint.instance] = copy
        entries[shard] = entry
    }

    /// The shard's connection announced a symbol's first data here.
    mutating func firstData(_ bootstrap: GapEvent, shard: Int) {
        guard bootstrap.reason == .bootstrap, var entry = entries[shard], entry.first[bootstrap.venueSymbol] == nil else { return }
        entry.first[bootstrap.venueSymbol] = bootstrap
        entries[shard] = entry
    }

    /// Whether a previous owner of the shard is known for the symbol (its window is then this book's to report).
    func knowsPrevious(_ venueSymbol: String, shard: Int) -> Bool {
        entries[shard]?.previous[venueSymbol] != nil
    }

    /// The previous owners' last event times of the shard's symbols, for checkpoints of symbols without
    /// data here yet (so that the next owner still knows them).
    func inherited(_ shard: Int) -> [String: Int64] {
        entries[shard]?.previous.mapValues(\.ts) ?? [:]
    }

    /// The windows decided now: symbols whose first data here is the settle time old.
    mutating func due(now: Int64) -> [GapEvent] {
        entries.keys.sorted().flatMap { decide($0, now: now, force: false) }
    }

    private mutating func decide(_ shard: Int, now: Int64, force: Bool) -> [GapEvent] {
        guard var entry = entries[shard] else { return [] }
        var gaps: [GapEvent] = []
        for (venueSymbol, first) in entry.first.sorted(by: { $0.key < $1.key })
        where !entry.reported.contains(venueSymbol) && (force || now - first.to >= settle) {
            // Another copy streamed from before this takeover until at least this first data: nothing lost.
            let before = entry.copies.values.filter { $0.since < entry.since }
            let covered = before.contains { $0.vouchedUntil >= first.to }
            // A copy alive at the takeover that has not vouched that far yet may still: wait for it, a while.
            let pending = before.contains { !$0.released && $0.newest >= entry.since - settle }
            if !covered && pending && !force && now - first.to < settle * Self.patience { continue }
            entry.reported.insert(venueSymbol)
            guard !covered, let previous = entry.previous[venueSymbol], previous.ts < first.to else { continue }
            gaps.append(GapEvent(source: first.source, symbol: first.symbol, venueSymbol: venueSymbol, from: previous.ts, to: first.to,
                                 reason: .handover, detectedAt: now,
                                 detail: "shard \(entry.id) taken over from \(previous.instance) " +
                                         (previous.released ? "(released cleanly)" : "(from its last checkpoint: it stopped without releasing the shard)"),
                                 instance: instance))
        }
        entries[shard] = entry
        return gaps
    }
}
