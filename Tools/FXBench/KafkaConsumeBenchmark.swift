import ArgumentParser
import CRdKafka
import Foundation
import FXKafka
import FXCore
import Logging
import Synchronization

/// Bridge consume throughput (messages per second through `KafkaConsumer.events`, payloads copied out)
/// vs a raw `rd_kafka_consumer_poll` loop, both in a fresh consumer group over the same topic. Timing
/// starts at the first message, so the group join is not measured. Also the CPU per message of each
/// (this process, librdkafka's threads included, first message to last), and of a consumer that lends
/// its messages to a handler on the poll thread (`KafkaConsumer(..., handler:)`).
struct KafkaConsumeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kafka-consume")
    @OptionGroup var options: BenchOptions
    @Option(help: "Messages in the topic.") var messages: Int = 200_000
    @Option(help: "The bridge consumer's event buffer capacity.") var capacity: Int = 10_000
    @Option(help: "Value size in bytes.") var size: Int = 200
    @Option(name: .customLong("property"), help: "A librdkafka property for the bridge consumer only, KEY=VALUE (repeatable), e.g. to compare settings.")
    var properties: [String] = []

    static let groupProperties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": "false"]

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: options.brokers), logger: logger)
        let topic = "bench-consume-\(UUID().uuidString.prefix(6))"
        _ = try await admin.createTopics([KafkaTopicSpec(name: topic, partitions: 3)])
        _ = try KafkaProduceBenchmark.rawProduce(brokers: options.brokers, topic: topic,
                                                 value: [UInt8](repeating: 0x41, count: size), count: messages)
        var report = RatioReport(name: "kafka consume (\(messages) x \(size) B)", unit: "msg/s")
        var cpu: [(raw: Double, events: Double, handler: Double)] = []
        for _ in 0..<options.rounds {
            let raw = try Self.rawConsume(brokers: options.brokers, topic: topic, count: messages)
            let bridge = try await bridgeConsume(topic: topic, logger: logger)
            let lent = try await handlerConsume(topic: topic, logger: logger)
            report.add(baseline: Double(messages) / raw.seconds, bridge: Double(messages) / bridge.seconds)
            let row = (raw: raw.cpu * 1e6 / Double(messages), events: bridge.cpu * 1e6 / Double(messages), handler: lent.cpu * 1e6 / Double(messages))
            cpu.append(row)
            print(String(format: "    CPU µs/message: raw %.3f, events %.3f (ratio %.2f), handler %.3f (ratio %.2f; %.0f msg/s)",
                         row.raw, row.events, row.events / row.raw, row.handler, row.handler / row.raw, Double(messages) / lent.seconds))
        }
        report.printSummary(goal: 0.70)
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        print(String(format: "CPU µs/message, medians: raw %.3f, events %.3f (ratio %.2f), handler %.3f (ratio %.2f)",
                     median(cpu.map(\.raw)), median(cpu.map(\.events)), median(cpu.map { $0.events / $0.raw }),
                     median(cpu.map(\.handler)), median(cpu.map { $0.handler / $0.raw })))
    }

    /// Wall time and process CPU (seconds), first message to last.
    struct Run {
        var seconds: Double
        var cpu: Double
    }

    var extraProperties: [String: String] {
        Dictionary(properties.compactMap { item in
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { $1 })
    }

    func bridgeConsume(topic: String, logger: Logger) async throws -> Run {
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: options.brokers, properties: Self.groupProperties.merging(extraProperties) { $1 }),
            groupID: "bench-\(UUID().uuidString.prefix(8))", topics: [topic], bufferCapacity: capacity, logger: logger)
        return try await whileRunning(consumer) {
        var received = 0
        var bytes = 0
        var start: (ContinuousClock.Instant, Double)?
        for try await event in consumer.events {
            guard case .message(let message) = event else { continue }
            if start == nil { start = (.now, processCPUSeconds()) }
            received += 1
            bytes += message.value.count
            if received == messages { break }
        }
        let run = Run(seconds: seconds(ContinuousClock.now - start!.0), cpu: processCPUSeconds() - start!.1)
        await consumer.close()
        precondition(bytes == messages * size)
        return run
        }
    }

    /// The same through a consumer that lends its messages to a handler on the poll thread (each value's
    /// bytes counted there, nothing copied).
    func handlerConsume(topic: String, logger: Logger) async throws -> Run {
        struct Progress {
            var received = 0
            var bytes = 0
            var start: (ContinuousClock.Instant, Double)?
            var end: (ContinuousClock.Instant, Double)?
        }
        let progress = Mutex(Progress())
        let done = AsyncLatch<Bool>()
        let total = messages
        let consumer = try KafkaConsumer(
            configuration: KafkaConfiguration(bootstrapServers: options.brokers, properties: Self.groupProperties.merging(extraProperties) { $1 }),
            groupID: "bench-\(UUID().uuidString.prefix(8))", topics: [topic], logger: logger) { delivery in
                guard case .messages(let lent) = delivery else { return }
                let finished = progress.withLock { progress -> Bool in
                    if progress.start == nil { progress.start = (.now, processCPUSeconds()) }
                    for message in lent { progress.bytes += message.value.count }
                    progress.received += lent.count
                    guard progress.received >= total, progress.end == nil else { return false }
                    progress.end = (.now, processCPUSeconds())
                    return true
                }
                if finished { done.open(true) }
            }
        return try await whileRunning(consumer) {
            _ = try await done.wait()
            await consumer.close()
            let measured = progress.withLock { $0 }
            precondition(measured.bytes == messages * size)
            return Run(seconds: seconds(measured.end!.0 - measured.start!.0), cpu: measured.end!.1 - measured.start!.1)
        }
    }

    static func rawConsume(brokers: String, topic: String, count: Int) throws -> Run {
        let conf = rd_kafka_conf_new()
        var error = [CChar](repeating: 0, count: 512)
        let properties = groupProperties.merging(["bootstrap.servers": brokers, "group.id": "bench-raw-\(UUID().uuidString.prefix(8))"]) { $1 }
        for (key, value) in properties {
            guard rd_kafka_conf_set(conf, key, value, &error, error.count) == RD_KAFKA_CONF_OK else {
                throw ValidationError("raw consumer config \(key)")
            }
        }
        guard let handle = rd_kafka_new(RD_KAFKA_CONSUMER, conf, &error, error.count) else { throw ValidationError("raw consumer") }
        defer { rd_kafka_destroy(handle) }
        rd_kafka_poll_set_consumer(handle)
        let list = rd_kafka_topic_partition_list_new(1)
        rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA)
        rd_kafka_subscribe(handle, list)
        rd_kafka_topic_partition_list_destroy(list)
        var received = 0
        var bytes = 0
        var start: (ContinuousClock.Instant, Double)?
        while received < count {
            guard let message = rd_kafka_consumer_poll(handle, 100) else { continue }
            if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                if start == nil { start = (.now, processCPUSeconds()) }
                received += 1
                bytes += message.pointee.len
            }
            rd_kafka_message_destroy(message)
        }
        let run = Run(seconds: seconds(ContinuousClock.now - start!.0), cpu: processCPUSeconds() - start!.1)
        rd_kafka_consumer_close(handle)
        precondition(bytes > 0)
        return run
    }
}
