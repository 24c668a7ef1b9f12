import ArgumentParser
import CRdKafka
import Foundation
import FXKafka
import Logging
import Synchronization

/// Bridge produce throughput (messages acknowledged per second) vs a raw librdkafka producer loop
/// with the same properties, broker and message size.
struct KafkaProduceBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kafka-produce")
    @OptionGroup var options: BenchOptions
    @Option(help: "Messages per round.") var messages: Int = 200_000
    @Option(help: "Value size in bytes.") var size: Int = 200
    @Option(help: "Single sends in flight at once through the bridge.") var window: Int = 5_000
    @Option(help: "Messages per send(contentsOf:) batch; 4 batches are in flight at once.") var batch: Int = 5_000

    static let properties = ["enable.idempotence": "true", "acks": "all", "linger.ms": "5"]

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: options.brokers), logger: logger)
        let value = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        var singles = RatioReport(name: "kafka produce, send() x \(window) concurrent (\(messages) x \(size) B)", unit: "msg/s")
        var batches = RatioReport(name: "kafka produce, send(contentsOf:) batches of \(batch) (\(messages) x \(size) B)", unit: "msg/s")
        for round in 0..<options.rounds {
            let topic = "bench-produce-\(round)-\(UUID().uuidString.prefix(6))"
            _ = try await admin.createTopics([KafkaTopicSpec(name: topic, partitions: 3)])
            let raw = try Self.rawProduce(brokers: options.brokers, topic: topic, value: value, count: messages)
            let single = try await bridgeProduce(topic: topic, value: value, logger: logger)
            let batched = try await bridgeBatchProduce(topic: topic, value: value, logger: logger)
            print("round \(round + 1):")
            singles.add(baseline: Double(messages) / raw, bridge: Double(messages) / single)
            batches.add(baseline: Double(messages) / raw, bridge: Double(messages) / batched)
        }
        singles.printSummary(goal: 0.70)
        batches.printSummary(goal: 0.70)
    }

    /// Seconds to produce and have acknowledged `messages` through `send(contentsOf:)`.
    func bridgeBatchProduce(topic: String, value: [UInt8], logger: Logger) async throws -> Double {
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: options.brokers, properties: Self.properties),
                                         logger: logger)
        let message = KafkaProducerMessage(topic: topic, key: nil, value: value)
        return try await whileRunning(producer) {
        let start = ContinuousClock.now
        let failures = await withTaskGroup(of: Int.self) { group in
            var sent = 0
            var inFlight = 0
            var failures = 0
            while sent < messages {
                if inFlight == 4 { failures += await group.next()!; inFlight -= 1 }
                let count = min(batch, messages - sent)
                group.addTask {
                    await producer.send(contentsOf: Array(repeating: message, count: count)).filter { (try? $0.get()) == nil }.count
                }
                sent += count
                inFlight += 1
            }
            for await failed in group { failures += failed }
            return failures
        }
        let elapsed = seconds(ContinuousClock.now - start)
        await producer.shutdown()
        guard failures == 0 else { throw ValidationError("bridge batch: \(failures) failed deliveries") }
        return elapsed
        }
    }

    /// Seconds to produce and have acknowledged `count` messages through the bridge.
    func bridgeProduce(topic: String, value: [UInt8], logger: Logger) async throws -> Double {
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: options.brokers, properties: Self.properties),
                                         logger: logger)
        return try await whileRunning(producer) {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<messages {
                if index >= window { try await group.next() }
                group.addTask {
                    try await producer.send(KafkaProducerMessage(topic: topic, key: nil, value: value))
                }
            }
            try await group.waitForAll()
        }
        let elapsed = seconds(ContinuousClock.now - start)
        await producer.shutdown()
        return elapsed
        }
    }

    /// Seconds for a plain C-style loop: rd_kafka_produce + rd_kafka_poll, counting delivery reports.
    static func rawProduce(brokers: String, topic: String, value: [UInt8], count: Int) throws -> Double {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 512)
        for (key, val) in properties.merging(["bootstrap.servers": brokers], uniquingKeysWith: { $1 }) {
            guard rd_kafka_conf_set(conf, key, val, &error, error.count) == RD_KAFKA_CONF_OK else {
                throw ValidationError("raw producer config \(key)")
            }
        }
        let delivered = Counter()
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(delivered).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
            let counter = Unmanaged<Counter>.fromOpaque(opaque!).takeUnretainedValue()
            if message!.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR { counter.value += 1 } else { counter.failed += 1 }
        }
        guard let handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &error, error.count) else { throw ValidationError("raw producer") }
        defer { rd_kafka_destroy(handle) }
        let topicHandle = rd_kafka_topic_new(handle, topic, nil)
        defer { rd_kafka_topic_destroy(topicHandle) }
        let start = ContinuousClock.now
        var sent = 0
        value.withUnsafeBytes { bytes in
            while sent < count {
                if rd_kafka_produce(topicHandle, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                    UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count, nil, 0, nil) == 0 {
                    sent += 1
                } else {
                    rd_kafka_poll(handle, 1) // queue full: serve delivery reports
                }
                if sent % 1000 == 0 { rd_kafka_poll(handle, 0) }
            }
        }
        while delivered.value + delivered.failed < count { rd_kafka_poll(handle, 10) }
        let elapsed = seconds(ContinuousClock.now - start)
        guard delivered.failed == 0 else { throw ValidationError("raw producer: \(delivered.failed) failed deliveries") }
        return elapsed
    }
}

/// Only touched on the thread that polls.
final class Counter {
    var value = 0
    var failed = 0
}
