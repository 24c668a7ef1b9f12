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
/// the survivors. Redundancy 1 assigns cooperative-sticky (a join or a death moves only what it must);
/// redundancy 2+ assigns by range, the assignor that never gives two copies of a shard to one member
/// while the group has two or more (copies are `S` partitions apart and a member's range is at most
/// `S` long). Nothing is written to the control topic: its partitions are only tokens of ownership.
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

    struct Running: Sendable {
        let connection: FeedConnection
        let stop: AsyncStream<Void>.Continuation
    }

    init(group: String, layout: ShardLayout, topics: TopicNames) {
        self.group = group
        self.layout = layout
        self.controlTopic = "\(topics.prefix)ingest.\(group).\(layout.fingerprint)"
        self.state = Mutex(FleetState(layout: layout, incremental: layout.redundancy == 1))
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
            let mine = partitions.filter { $0.topic == controlTopic }.map(\.partition)
            return state.withLock { $0.assigned(mine) }
        case .partitionsRevoked(let partitions):
            let mine = partitions.filter { $0.topic == controlTopic }.map(\.partition)
            return state.withLock { $0.revoked(mine) }
        case .message, .offsetsBelowLogStart:
            return []
        }
    }

    /// Stop every shard (the instance is leaving the group).
    func leave() -> [FleetState.Action] {
        state.withLock { $0.left() }
    }

    /// Registers shard `index`'s new connection; returns the signal its task ends on.
    func started(_ index: Int, connection: FeedConnection) -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream()
        let previous = running.withLock { $0.updateValue(Running(connection: connection, stop: continuation), forKey: index) }
        previous?.stop.finish()
        return stream
    }

    /// Ends shard `index`'s connection (its task closes it and publishes its open gaps).
    func stop(_ index: Int) {
        running.withLock { $0.removeValue(forKey: index) }?.stop.finish()
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
