import Foundation
import FXKafka
import FXTestSupport
import Testing

/// Kafka clients own their lifetime: polling starts in `run()`, the handle is destroyed by its own poll
/// loop (or, for a client that never ran, off the caller's thread), and nothing is left behind.
@Suite("Kafka clients: lifetime", .serialized, .tags(.integration))
struct ClientLifetimeTests {
    static func threads() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
    }

    /// The aggregator's start-up when its consumer cannot be built: a producer is made, the consumer
    /// fails, everything is dropped. And a producer that ran and was shut down.
    static func cycle() async throws {
        let producer = try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("lifetime"))
        #expect(throws: KafkaError.self) {
            _ = try KafkaConsumer(configuration: KafkaTestKit.configuration(["session.timeout.ms": "soon"]), groupID: "g", topics: ["t"],
                                  logger: TestEnvironment.logger("lifetime"))
        }
        _ = producer
        let running = try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("lifetime"))
        try await withRunning(running) { producer in
            await producer.shutdown(flushTimeout: .seconds(1))
        }
    }

    @Test("building and failing clients in a loop leaves the thread count flat")
    func threadsStayFlat() async throws {
        try await Self.cycle()
        _ = try await TestEnvironment.eventually(timeout: .seconds(10)) { Self.threads() < 200 }
        // The count is the whole test process's: specs running alongside start and stop clients of their own.
        // A leak grows with every round of 25 cycles; their noise does not: up to three rounds.
        var settled = false
        var counts: [(Int, Int)] = []
        for _ in 0..<3 where !settled {
            try await Task.sleep(for: .seconds(1))
            let baseline = Self.threads()
            for _ in 0..<25 { try await Self.cycle() }
            settled = try await TestEnvironment.eventually(timeout: .seconds(20)) { Self.threads() <= baseline + 3 }
            counts.append((baseline, Self.threads()))
        }
        #expect(settled, "threads before and after each round of 25 cycles: \(counts)")
    }

    @Test("a producer's sends wait for run(); run() returns after shutdown() and the producer refuses sends")
    func runOwnsPolling() async throws {
        let topic = try await KafkaTestKit.makeTopic("lifetime", partitions: 1)
        let producer = try KafkaProducer(configuration: KafkaTestKit.configuration(), logger: TestEnvironment.logger("lifetime"))
        let report = try await withRunning(producer) { producer in
            try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: "one"))
        }
        #expect(report.offset == 0)
        await #expect(throws: KafkaError.self) {
            try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: "after"))
        }
    }
}
