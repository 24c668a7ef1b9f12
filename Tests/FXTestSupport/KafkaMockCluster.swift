import CRdKafka

/// librdkafka's in-process mock cluster, for faults the local broker cannot produce: its partitions drop
/// their oldest message sets past 5 MB, as retention does (the local broker cannot delete records).
/// Destroyed with this value; clients must be closed first.
public final class KafkaMockCluster: @unchecked Sendable {
    private let owner: OpaquePointer
    private let cluster: OpaquePointer

    /// `bootstrap.servers` for clients of this cluster.
    public var brokers: String { String(cString: rd_kafka_mock_cluster_bootstraps(cluster)) }

    public init() throws {
        var error = [CChar](repeating: 0, count: 512)
        guard let owner = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), &error, error.count) else {
            throw TestSupportError(String(cString: error))
        }
        guard let cluster = rd_kafka_mock_cluster_new(owner, 1) else {
            rd_kafka_destroy(owner)
            throw TestSupportError("cannot start the mock cluster")
        }
        self.owner = owner
        self.cluster = cluster
    }

    public func createTopic(_ name: String, partitions: Int32) throws {
        let result = rd_kafka_mock_topic_create(cluster, name, partitions, 1)
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw TestSupportError("mock topic \(name): \(String(cString: rd_kafka_err2str(result)))") }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(owner)
    }
}
