/// A backfiller loop stopped outside a shutdown: the gap intake's Kafka consumer stream ended or failed,
/// or every repair worker stopped. The service throws it, which ends the process's service group; the executable then exits non-zero,
/// so the orchestrator restarts it instead of leaving a process that looks alive and does nothing.
public struct BackfillStoppedError: Error, CustomStringConvertible, Sendable {
    /// `stream_ended` (the consumer stopped without a shutdown), `stream_failed` (a consumer error),
    /// `workers_stopped` (the repair workers ended without a shutdown) or `rejects_undelivered` (a refused
    /// gap event could not be sent to the rejects topic: its offset must not be committed).
    public var code: String
    /// What stopped (`service`, `topic`, `group`) and, for a failure, its `cause` (as text).
    public var context: [String: String]
    /// The failure that stopped the loop (a consumer's error, an undelivered reject), as thrown.
    public var cause: (any Error)?

    public init(code: String, context: [String: String], cause: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.cause = cause
    }

    public var description: String {
        "BackfillStoppedError(\(code)) " + context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
