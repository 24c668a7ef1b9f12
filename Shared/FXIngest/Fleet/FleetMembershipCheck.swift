import FXServiceChassis

/// Readiness of an ingestor in a fleet, `fleet` in `/health/ready`: ready once the fleet's group has
/// given the instance its share (possibly none: a standby). A check not yet ready waits up to `patience`
/// for it, so readiness follows the assignment within moments.
struct FleetMembershipCheck: DependencyCheck {
    let name = "fleet"
    let fleet: IngestorFleet
    /// Below the readiness probe's default 1 s timeout.
    var patience: Duration = .milliseconds(500)

    func check() async -> DependencyStatus {
        let deadline = ContinuousClock.now + patience
        while !fleet.isMember, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
        }
        guard fleet.isMember else { return DependencyStatus(ready: false, detail: "joining the fleet \(fleet.group)") }
        let heartbeat = fleet.heartbeat
        return DependencyStatus(ready: true, detail: "streams \(heartbeat.shards.count) of the fleet's \(heartbeat.shardCount) shards")
    }

    func close() async {}
}
