import FXKafka
import ServiceLifecycle

/// One backfiller process's long-running services, wired: one HTTP client (``HistoryHTTPClient``) and one
/// Kafka producer shared by the gap intake, the repair workers and the heartbeat. In the group's order:
/// the client and the producer first, so that they stop last (a group stops its services in reverse
/// order): the heartbeat, the repair workers and the intake stop, then the producer flushes what they
/// sent, then the client shuts down.
public struct BackfillerServices: Sendable {
    public let intake: GapIntakeService
    public let repair: GapRepairService
    public let heartbeat: BackfillerHeartbeat
    public let producer: KafkaProducer
    public let http: HistoryHTTPClient

    public init(context: BackfillerContext) throws {
        // The producer first: its configuration can be refused, and an HTTP client must be shut down
        // before it is released (created after the last thing that can throw).
        producer = try KafkaProducer(configuration: context.kafka, flushTimeout: .seconds(5), logger: context.logger)
        http = HistoryHTTPClient(requestTimeout: context.configuration.requestTimeout, workers: context.configuration.workers)
        let intake = GapIntakeService(context: context, producer: producer)
        let repair = GapRepairService(context: context, producer: producer, http: http.client)
        self.intake = intake
        self.repair = repair
        heartbeat = BackfillerHeartbeat(context: context, producer: producer, counters: { intake.counters + repair.metrics.counters },
                                        lag: intake.lag)
    }

    /// The services in their group order.
    public var services: [any Service] { [http, producer, intake, repair, heartbeat] }

    /// The totals for health bodies: the same as the heartbeats and `/metrics` report.
    public var counters: @Sendable () -> [(String, Int64)] {
        { [intake, repair] in intake.counters + repair.metrics.counters }
    }
}
