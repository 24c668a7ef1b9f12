@testable import FXIngest
import Testing

/// How a fleet of ingestors maps the control topic's partitions to shards, and what an instance starts
/// and stops as the group assigns and revokes them. No broker: the events are given.
@Suite("Ingestor fleet: shards from partitions")
struct FleetStateTests {
    static func layout(shards: Int, redundancy: Int = 1) -> ShardLayout {
        ShardLayout(shards: (0..<shards).map { .init(id: "coinbase-\($0)", symbols: ["S\($0)-USD"]) }, redundancy: redundancy)
    }

    @Test("one partition per shard and copy; copies of a shard are S partitions apart")
    func partitions() {
        let layout = Self.layout(shards: 4, redundancy: 2)
        #expect(layout.partitionCount == 8)
        #expect((0..<8).map { layout.shardIndex(ofPartition: $0) } == [0, 1, 2, 3, 0, 1, 2, 3])
        #expect(layout.shardIndex(ofPartition: 8) == nil && layout.shardIndex(ofPartition: -1) == nil)
        #expect(layout.shardIndexes(owning: [1, 5, 6]) == [1, 2], "two copies of shard 1 are streamed once")
    }

    @Test("a range assignment over 2+ members never gives one member both copies of a shard")
    func rangeSeparatesCopies() {
        // librdkafka's range assignor: members sorted, contiguous ranges, the first `n % m` one longer.
        for shards in 1...12 {
            let layout = Self.layout(shards: shards, redundancy: 2)
            for members in 2...7 {
                let total = Int(layout.partitionCount), base = total / members, extra = total % members
                var start = 0
                for member in 0..<members {
                    let length = base + (member < extra ? 1 : 0)
                    let range = (start..<start + length).map(Int32.init)
                    start += length
                    #expect(layout.shardIndexes(owning: range).count == range.count, "\(shards) shards, \(members) members: \(range)")
                }
            }
        }
    }

    @Test("the fingerprint changes with the shards, their symbols and the redundancy, and only with them")
    func fingerprint() {
        let base = Self.layout(shards: 3)
        #expect(base.fingerprint == Self.layout(shards: 3).fingerprint)
        #expect(base.fingerprint.count == 16)
        #expect(base.fingerprint != Self.layout(shards: 4).fingerprint)
        #expect(base.fingerprint != Self.layout(shards: 3, redundancy: 2).fingerprint)
        var moved = base.shards
        moved[0].symbols.append("EXTRA-USD")
        #expect(base.fingerprint != ShardLayout(shards: moved, redundancy: 1).fingerprint)
    }

    @Test("incremental: assigned shards start, revoked ones stop at once, the rest keep streaming")
    func incremental() {
        var state = FleetState(layout: Self.layout(shards: 4), incremental: true)
        #expect(state.assigned([0, 1, 2, 3]) == [.start(0), .start(1), .start(2), .start(3)])
        #expect(state.revoked([1, 3]) == [.stop(1), .stop(3)])
        #expect(state.assigned([]) == [])
        #expect(state.running == [0, 2])
        #expect(state.left() == [.stop(0), .stop(2)])
    }

    @Test("eager: a rebalance's revocation stops nothing; the next assignment keeps what stays, stops what moved, starts what came")
    func eager() {
        var state = FleetState(layout: Self.layout(shards: 3, redundancy: 2), incremental: false)
        #expect(state.assigned([0, 1, 2, 3, 4, 5]) == [.start(0), .start(1), .start(2)], "alone: every shard once")
        #expect(state.revoked([0, 1, 2, 3, 4, 5]) == [])
        #expect(state.running == [0, 1, 2])
        #expect(state.assigned([0, 1, 2]) == [])
        #expect(state.revoked([0, 1, 2]) == [])
        #expect(state.assigned([2, 3]) == [.stop(1)], "partition 3 is shard 0's second copy")
        #expect(state.left() == [.stop(0), .stop(2)])
    }
}
