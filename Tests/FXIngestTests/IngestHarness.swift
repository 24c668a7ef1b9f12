import FXContracts
import FXCore
import FXIngest
import FXKafka
import FXSim
import FXTestSupport
import Logging
import Metrics
import ServiceLifecycle

/// An in-process simulator and ingestor against the real local broker, on topics of their own.
struct IngestHarness {
    let simulator: SimulatorService
    let port: Int
    let topics: TopicNames
    let recorder: TopicRecorder
    let ingestor: IngestorService

    var market: SimMarket { simulator.market }
    var coinbaseURL: String { "ws://127.0.0.1:\(port)/coinbase" }

    /// Runs `body` with a simulator and an ingestor of `feeds` (given the simulator's port), then shuts both
    /// down gracefully (the ingestor first).
    static func run(simulator configure: (inout SimConfiguration) -> Void = { _ in },
                    feeds: (Int) -> [FeedConfiguration],
                    tune: (inout IngestorConfiguration) -> Void = { _ in },
                    clock: IngestClock = .system,
                    brokers: String = TestEnvironment.brokers,
                    kafkaProperties: [String: String] = [:],
                    _ body: (IngestHarness) async throws -> Void) async throws {
        var simConfiguration = SimConfiguration()
        simConfiguration.port = 0
        simConfiguration.stepInterval = .milliseconds(50)
        configure(&simConfiguration)
        let logger = TestEnvironment.logger("ingest-test")
        let simulator = SimulatorService(configuration: simConfiguration, logger: logger)
        let simGroup = ServiceGroup(configuration: .init(services: [.init(service: simulator)], logger: logger))
        let simTask = Task { try await simGroup.run() }
        let port = await simulator.port()

        let topics = TopicNames(prefix: TestEnvironment.uniqueName("ingest") + ".")
        let kafka = KafkaTestKit.configuration(brokers: brokers, kafkaProperties)
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let recorded = [topics.ticks, topics.gaps, topics.health, topics.rejects, topics.books]
        _ = try await admin.createTopics(recorded.map { KafkaTopicSpec(name: $0, partitions: 3) })
        let recorder = try TopicRecorder(topics: recorded, brokers: brokers)

        var configuration = IngestorConfiguration(feeds: feeds(port))
        configuration.healthInterval = .seconds(1)
        configuration.backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        tune(&configuration)
        let ingestor = IngestorService(configuration: configuration, kafka: kafka, topics: topics,
                                       instance: "test", metricsFactory: NOOPMetricsHandler.instance, clock: clock, logger: logger)
        let ingestGroup = ServiceGroup(configuration: .init(services: [.init(service: ingestor)], logger: logger))
        let ingestTask = Task { try await ingestGroup.run() }
        let harness = IngestHarness(simulator: simulator, port: port, topics: topics, recorder: recorder, ingestor: ingestor)
        do {
            try await body(harness)
        } catch {
            await ingestGroup.triggerGracefulShutdown()
            _ = await ingestTask.result
            await simGroup.triggerGracefulShutdown()
            _ = await simTask.result
            await recorder.stop()
            throw error
        }
        await ingestGroup.triggerGracefulShutdown()
        try await ingestTask.value
        await simGroup.triggerGracefulShutdown()
        _ = await simTask.result
        await recorder.stop()
    }

    func ticks() throws -> [JSONValue] { try recorder.messages(topics.ticks).map { try JSONParser().parse($0.value) } }
    /// Gap events of losses (`bootstrap` events, which mark where a symbol's stream started, left out).
    func gaps() throws -> [GapEvent] { try recorder.messages(topics.gaps).map { try GapEvent(json: $0.value) }.filter { $0.reason != .bootstrap } }
    func bootstrapEvents() throws -> [GapEvent] { try recorder.messages(topics.gaps).map { try GapEvent(json: $0.value) }.filter { $0.reason == .bootstrap } }
    func rejects() throws -> [JSONValue] { try recorder.messages(topics.rejects).map { try JSONParser().parse($0.value) } }
    func books() throws -> [BookMessage] { try recorder.messages(topics.books).map { try BookMessage(json: $0.value) } }
    func health() throws -> [JSONValue] { try recorder.messages(topics.health).map { try JSONParser().parse($0.value) } }

    @discardableResult
    func waitForTicks(_ what: String, timeout: Duration = .seconds(45), _ condition: @escaping ([JSONValue]) -> Bool) async throws -> [JSONValue] {
        try await recorder.waitFor(topics.ticks, timeout: timeout, what) { messages in
            condition(messages.compactMap { try? JSONParser().parse($0.value) })
        }.compactMap { try? JSONParser().parse($0.value) }
    }

    @discardableResult
    func waitForGaps(_ what: String, timeout: Duration = .seconds(45), _ condition: @escaping ([GapEvent]) -> Bool) async throws -> [GapEvent] {
        try await recorder.waitFor(topics.gaps, timeout: timeout, what) { messages in
            condition(messages.compactMap { try? GapEvent(json: $0.value) }.filter { $0.reason != .bootstrap })
        }.compactMap { try? GapEvent(json: $0.value) }.filter { $0.reason != .bootstrap }
    }
}
