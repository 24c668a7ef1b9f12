/// The fleet membership failed: this instance stopped streaming its shards (the other replicas take
/// them over) and the ingestor exits non-zero so that it is restarted.
public struct IngestorFleetError: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "ingestor fleet: \(reason)" }
}
