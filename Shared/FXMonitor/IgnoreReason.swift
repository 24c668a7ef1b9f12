/// Why the monitor set a message (or part of one) aside instead of applying it: a value outside the
/// topic contract's bounds (``FXCore/ContractLimits``), or a new key beyond one of the monitor's caps.
/// Counted in `fx_monitor_ignored_total{reason}`, never a crash.
public enum IgnoreReason: String, Sendable, CaseIterable {
    /// Not JSON, or a required field missing.
    case malformed
    /// An event time outside 2000-01-01 ... 2100-01-01 (`ts`, `recv_ts`, `from_ts`, `to_ts`, ...).
    case invalidTimestamp = "invalid_timestamp"
    /// A `source`, `symbol`, `service`, `instance`, topic or connection id outside its contract.
    case invalidName = "invalid_name"
    /// A negative counter, an out-of-range partition, an implausible latency sample.
    case invalidNumber = "invalid_number"
    /// A new stream while `max_streams` are known.
    case streamCap = "stream_cap"
    /// A new service instance while `max_instances` are known.
    case instanceCap = "instance_cap"
    /// A new source (rates, latency) while `max_sources` are known.
    case sourceCap = "source_cap"
    /// A heartbeat of a service that is not one of the pipeline's (``HeartbeatTrust``).
    case unknownService = "unknown_service"
    /// A heartbeat of an instance that `expected_instances` does not list (``HeartbeatTrust``).
    case unexpectedInstance = "unexpected_instance"
}
