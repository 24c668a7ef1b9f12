import FXContracts
import FXKafka
import Logging
import Synchronization

/// One ingestor's membership of a fleet: replicas that run the same feeds configuration and split its
/// shards (one connection's symbols each) among themselves.
///
/// Membership is a Kafka consumer group over a control topic with one partition per shard and copy
/// (``ShardLayout``): no new infrastructure, no database. The group's protocol finds dead members
/// (`session.timeout.ms`: ``IngestorConfiguration/fleetSessionTimeout``) and moves their partitions to
/// the survivors. Each replica writes a ``ShardCheckpoint`` of every shard it streams to the shard's
/// partitions every health interval; a replica given a shard reads the newest ones and reports the
/// window since the previous owner's last event as `handover` gaps (``HandoverBook``). Redundancy 1 assigns cooperative-sticky (a join or a death moves only what it must);
/// redundancy 2+ assigns by range, the assignor that never gives two copies of a shard to one member
/// while the group has at least as many members as copies (copies are `S` partitions apart and a
/// member's range is then at most `S` long). A shard that moves away from a live member streams on for
/// ``overlap`` where its venue allows a second session (make-before-break).
///
/// The fleet decides (``FleetState``, behind a lock); ``IngestorService`` starts and stops the
/// connections it names.
final class IngestorFleet: Sendable {
    let group: String
    let layout: ShardLayout
    /// `<prefix>ingest.<group>.<fingerprint>`: one control topic per fleet and shard layout.
    let controlTopic: String
    /// The consumer group: the control topic's name.
    var groupID: String { controlTopic }
    private let state: Mutex<FleetState>
    private let running = Mutex<[Int: Running]>([:])
    /// In the group: an assignment (possibly empty) came and the instance has not left since.
    private let member = Atomic<Bool>(false)
    private let instance: String
    private let handover: Mutex<HandoverBook>
    /// Each running shard's event times at the previous checkpoint (the next checkpoint says these).
    private let snapshots = Mutex<[Int: [String: Int64]]>([:])
    /// Checkpoints read at the tail of a newly assigned partition: enough to reach back past a rebalance
    /// (every copy writes one per health interval, so a release written when the previous owner stopped
    /// is a session timeout and a rebalance of other copies' checkpoints back; 16 was seen to miss it).
    static let checkpointsRead: Int64 = 512

    struct Running: Sendable {
        let connection: FeedConnection
        let stop: AsyncStream<Void>.Continuation
        /// When this instance started streaming the shard (wall clock).
        let since: Int64
        /// Counts the stops scheduled for a move (``scheduleStop(_:)``), so that a late one never ends a revived shard.
        var generation: UInt64 = 0
        var stopping = false
    }

    /// The previous owners' times of stopped shards, for their released checkpoints.
    private let inheritedAtStop = Mutex<[Int: [String: Int64]]>([:])
    /// Shards whose venue allows a second session (no per-credential connection limit): a moved one keeps
    /// streaming for ``overlap`` after it moved (make-before-break), so its new owner's first data
    /// overlaps it and the move loses nothing.
    private let overlapping: Set<Int>
    let overlap: Duration

    /// - Parameters:
    ///   - settle: how long after a symbol's first data here its handover window is decided; also how
    ///     long a moved shard streams on where its venue allows a second session.
    ///   - overlapping: the shards whose venue allows a second session.
    init(group: String, layout: ShardLayout, topics: TopicNames, instance: String, settle: Duration, overlapping: Set<Int>) {
        self.group = group
        self.instance = instance
        self.handover = Mutex(HandoverBook(instance: instance, settle: settle.nanosecondsClamped))
        self.layout = layout
        self.controlTopic = "\(topics.prefix)ingest.\(group).\(layout.fingerprint)"
        self.state = Mutex(FleetState(layout: layout, incremental: layout.redundancy == 1))
        self.overlapping = overlapping
        self.overlap = settle * 2
    }

    /// The control consumer's properties: the assignor for the redundancy, the session timeout, and
    /// heartbeats at a sixth of it.
    static func consumerConfiguration(_ kafka: KafkaConfiguration, redundancy: Int, sessionTimeout: Duration) -> KafkaConfiguration {
        var configuration = kafka
        let milliseconds = sessionTimeout.nanosecondsClamped / 1_000_000
        configuration["partition.assignment.strategy"] = redundancy == 1 ? "cooperative-sticky" : "range"
        configuration["session.timeout.ms"] = String(milliseconds)
        configuration["heartbeat.interval.ms"] = String(max(100, milliseconds / 6))
        return configuration
    }

    /// What a consumer event means for the shards: start and stop actions.
    func actions(for event: KafkaConsumerEvent) -> [FleetState.Action] {
        switch event {
        case .partitionsAssigned(let partitions):
            member.store(true, ordering: .releasing)
            let mine = partitions.filter { $0.topic == controlTopic }.map(\.partition)
            return state.withLock { $0.assigned(mine) }
        case .partitionsRevoked(let partitions):
            let mine = partitions.filter { $0.topic == controlTopic }.map(\.partition)
            return state.withLock { $0.revoked(mine) }
        case .message(let message):
            guard message.topic == controlTopic, let index = layout.shardIndex(ofPartition: message.partition),
                  let checkpoint = ShardCheckpoint(json: message.value) else { return [] }
            handover.withLock { $0.read(checkpoint, shard: index) }
            return []
        case .offsetsBelowLogStart:
            return []
        }
    }

    /// Stop every shard (the instance is leaving the group).
    func leave() -> [FleetState.Action] {
        member.store(false, ordering: .releasing)
        return state.withLock { $0.left() }
    }

    /// Whether the instance is in the fleet's group (it has had its assignment, possibly none).
    var isMember: Bool { member.load(ordering: .acquiring) }

    /// Where a newly assigned control partition is read from: its newest checkpoints.
    var rebalanceHandler: KafkaRebalanceHandler {
        KafkaRebalanceHandler(partitionsAssigned: { partitions in
            Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.tail(Self.checkpointsRead)) })
        })
    }

    /// What shard `index`'s connection publishes of its gap events: all but the `bootstrap` of a symbol
    /// whose previous owner is known from its checkpoints (the handover window accounts for it; a
    /// bootstrap would have the backfiller repair the time since the newest stored minute as well). Its
    /// first data is noted either way.
    func gapFilter(_ index: Int) -> @Sendable ([GapEvent]) -> [GapEvent] {
        { [weak self] gaps in
            guard let self else { return gaps }
            return self.handover.withLock { book in
                gaps.filter { gap in
                    book.firstData(gap, shard: index)
                    return gap.reason != .bootstrap || !book.knowsPrevious(gap.venueSymbol, shard: index)
                }
            }
        }
    }

    /// Registers shard `index`'s new connection; returns the signal its task ends on.
    func started(_ index: Int, connection: FeedConnection, now: Int64) -> AsyncStream<Void> {
        handover.withLock { $0.started(index, id: layout.shards[index].id, now: now) }
        snapshots.withLock { $0[index] = nil }
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let previous = running.withLock { $0.updateValue(Running(connection: connection, stop: continuation, since: now), forKey: index) }
        previous?.stop.finish()
        return stream
    }

    /// Whether a moved shard streams on for ``overlap`` before it stops.
    func overlaps(_ index: Int) -> Bool { overlapping.contains(index) }

    /// Marks shard `index` as moving away; the generation to pass to ``stop(_:generation:now:)`` (nil: not running).
    func scheduleStop(_ index: Int) -> UInt64? {
        running.withLock { running in
            guard var entry = running[index] else { return nil }
            entry.generation &+= 1
            entry.stopping = true
            running[index] = entry
            return entry.generation
        }
    }

    /// A shard given back while it still streams on after a move: it simply stays (true).
    func revive(_ index: Int) -> Bool {
        running.withLock { running in
            guard var entry = running[index], entry.stopping else { return false }
            entry.generation &+= 1
            entry.stopping = false
            running[index] = entry
            return true
        }
    }

    /// Ends shard `index`'s connection (its task closes it and publishes its open gaps and its released
    /// checkpoint); with a generation, only if no later move or revival came meanwhile. Returns the
    /// handover windows still undecided for it.
    func stop(_ index: Int, generation: UInt64? = nil, now: Int64) -> [GapEvent] {
        let removed = running.withLock { running -> Running? in
            guard let entry = running[index], generation == nil || (entry.stopping && entry.generation == generation) else { return nil }
            return running.removeValue(forKey: index)
        }
        guard let removed else { return [] }
        removed.stop.finish()
        snapshots.withLock { $0[index] = nil }
        return handover.withLock { book in
            inheritedAtStop.withLock { $0[index] = book.inherited(index) }
            return book.stopped(index, now: now)
        }
    }

    /// Every health interval: a checkpoint of each running shard (the event times of the previous
    /// interval, see ``ShardCheckpoint``) to each of its partitions, and the handover windows now due.
    func tick(now: Int64) -> (checkpoints: [PublishItem], handovers: [GapEvent]) {
        let current = running.withLock { $0 }
        let inherited = handover.withLock { book in Dictionary(uniqueKeysWithValues: current.keys.map { ($0, book.inherited($0)) }) }
        var items: [PublishItem] = []
        snapshots.withLock { snapshots in
            for (index, entry) in current.sorted(by: { $0.key < $1.key }) {
                if let previous = snapshots[index] {
                    let last = previous.merging(inherited[index] ?? [:]) { own, _ in own }
                    if !last.isEmpty { items += checkpoint(index, last: last, since: entry.since, released: false, now: now) }
                }
                snapshots[index] = entry.connection.lastEventTimes
            }
            snapshots = snapshots.filter { current[$0.key] != nil }
        }
        return (items, handover.withLock { $0.due(now: now) })
    }

    /// The last checkpoint of a shard this instance stopped cleanly (its connection has ended): exact times.
    func released(_ index: Int, connection: FeedConnection, since: Int64, now: Int64) -> [PublishItem] {
        let inherited = inheritedAtStop.withLock { $0.removeValue(forKey: index) } ?? [:]
        let last = connection.lastEventTimes.merging(inherited) { own, _ in own }
        return last.isEmpty ? [] : checkpoint(index, last: last, since: since, released: true, now: now)
    }

    private func checkpoint(_ index: Int, last: [String: Int64], since: Int64, released: Bool, now: Int64) -> [PublishItem] {
        let shard = layout.shards[index].id
        let value = ShardCheckpoint(shard: shard, instance: instance, timestamp: now, since: since, released: released, last: last).jsonBytes()
        return (0..<layout.redundancy).map { copy in
            PublishItem(message: KafkaProducerMessage(topic: controlTopic, partition: Int32(index + copy * layout.shards.count),
                                                      key: Array(shard.utf8), value: value), kind: .control)
        }
    }

    /// The connections streaming now, in shard order.
    var connections: [FeedConnection] {
        running.withLock { $0.sorted { $0.key < $1.key }.map(\.value.connection) }
    }

    /// The heartbeat's fleet part.
    var heartbeat: Heartbeat.Fleet {
        let shards = running.withLock { $0.keys.sorted() }.map { layout.shards[$0].id }
        return Heartbeat.Fleet(group: group, redundancy: Int64(layout.redundancy), shardCount: Int64(layout.shards.count), shards: shards)
    }
}
