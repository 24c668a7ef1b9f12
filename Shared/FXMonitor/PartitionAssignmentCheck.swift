import FXServiceChassis

/// Readiness of the monitor: ready once its consumer owns partitions of the watched topics (it reads
/// from the newest messages, so before that it sees nothing). `/health/ready` lists it as
/// `kafka_partitions`. A check not yet ready waits up to `patience` for the assignment, so readiness
/// follows it within moments rather than at the next round of the dependency watch.
public struct PartitionAssignmentCheck: DependencyCheck {
    public let name = "kafka_partitions"
    let service: MonitorService
    let patience: Duration

    public init(service: MonitorService, patience: Duration = .seconds(4)) {
        self.service = service
        self.patience = patience
    }

    public func check() async -> DependencyStatus {
        let deadline = ContinuousClock.now + patience
        while service.assignedPartitions == 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let owned = service.assignedPartitions
        return owned > 0 ? DependencyStatus(ready: true, detail: "owns \(owned) partitions of the watched topics")
                         : DependencyStatus(ready: false, detail: "waiting for the consumer group to assign partitions")
    }

    public func close() async {}
}
