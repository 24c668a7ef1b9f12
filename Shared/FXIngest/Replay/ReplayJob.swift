import FXContracts
import FXCore
import FXKafka
import Foundation
import Logging

/// `fxadmin replay` and `fxadmin capture-export`: a raw capture (the topic, or export files) replayed
/// through the current code into another prefix's topics (or files), or written to files.
public enum ReplayJob {
    public struct Options: Sendable {
        /// The raw topic to read (nil: read ``files``).
        public var fromTopic: String?
        /// Export files or directories of them.
        public var files: [String] = []
        /// Receive times (ns) of the records whose results are kept: `[since, until)`.
        public var since: Int64?
        public var until: Int64?
        public var sources: Set<String> = []
        /// Publish the results to this prefix's ticks, gaps and rejects.
        public var toPrefix: String?
        /// Write the results as `ticks.jsonl`, `gaps.jsonl`, `rejects.jsonl` (one message value a line) here.
        public var toDirectory: String?
        /// Partitions and replicas of the target topics created when missing.
        public var partitions: Int32 = 3
        public var replicationFactor: Int32 = 1

        public init() {}
    }

    /// Where the records come from, in each connection's order.
    static func records(_ options: Options, kafka: KafkaConfiguration, logger: Logger, _ body: (RawRecord) async throws -> Void) async throws {
        if let topic = options.fromTopic {
            let summary = try await RawTopicReader.read(kafka: kafka, topic: topic, groupID: "fxadmin-replay-\(UUID().uuidString.lowercased())",
                                                        logger: logger, body)
            if summary.unreadable > 0 { logger.warning("\(summary.unreadable) message(s) of \(topic) are not raw capture records: skipped") }
        } else {
            try await RawCaptureFile.read(options.files, body)
        }
    }

    /// Replays the capture; returns what it read and made. Throws if a result cannot be delivered.
    public static func replay(_ options: Options, kafka: KafkaConfiguration, logger: Logger) async throws -> RawReplay.Report {
        let target = TopicNames(prefix: options.toPrefix ?? "replay.")
        let replay = RawReplay(topics: target, since: options.since, until: options.until, sources: options.sources, logger: logger)
        let sink: ReplaySink
        if let directory = options.toDirectory {
            sink = try ReplaySink.files(directory: directory, topics: target)
        } else {
            let admin = try KafkaAdmin(configuration: kafka, logger: logger)
            _ = try await admin.createTopics([target.ticks, target.gaps, target.rejects].map {
                KafkaTopicSpec(name: $0, partitions: options.partitions, replicationFactor: options.replicationFactor)
            })
            sink = .kafka(try KafkaProducer(configuration: kafka, logger: logger))
        }
        try await sink.run { sink in
            try await records(options, kafka: kafka, logger: logger) { record in
                try await sink.write(await replay.replay(record))
            }
        }
        return replay.report
    }

    /// Writes the capture's records in `[since, until)` to files under `directory` (one per source and day).
    public static func export(_ options: Options, directory: String, kafka: KafkaConfiguration, logger: Logger) async throws -> [String] {
        let writer = try RawCaptureFile.Writer(directory: directory)
        // Each connection's latest start, open and subscribe records: the head of its part of every file.
        var context: [String: [RawRecord]] = [:]
        try await records(options, kafka: kafka, logger: logger) { record in
            guard options.sources.isEmpty || options.sources.contains(record.source) else { return }
            let connection = record.instance + "|" + record.key
            if record.kind == .control, let control = try? RawControl(json: record.value) {
                switch control {
                case .start: context[connection] = [record]
                case .open: context[connection] = Array((context[connection] ?? []).prefix(1)) + [record]
                case .subscribe: context[connection] = Array((context[connection] ?? []).prefix(2)) + [record]
                default: break
                }
            }
            guard options.since.map({ record.receivedAt >= $0 }) ?? true, options.until.map({ record.receivedAt < $0 }) ?? true else { return }
            try writer.write(record, context: context[connection] ?? [])
        }
        try writer.close()
        return writer.paths
    }
}

/// Where a replay's results go: the target prefix's topics (each batch acknowledged before the next
/// record is read), or files.
final class ReplaySink {
    private enum Target {
        case kafka(KafkaProducer)
        case files([String: FileHandle])
    }

    private let target: Target
    private let topics: TopicNames?
    private var pending: [KafkaProducerMessage] = []

    private init(_ target: Target, topics: TopicNames? = nil) {
        self.target = target
        self.topics = topics
    }

    static func kafka(_ producer: KafkaProducer) -> ReplaySink { ReplaySink(.kafka(producer)) }

    static func files(directory: String, topics: TopicNames) throws -> ReplaySink {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var handles: [String: FileHandle] = [:]
        for (topic, name) in [(topics.ticks, "ticks"), (topics.gaps, "gaps"), (topics.rejects, "rejects")] {
            let path = (directory as NSString).appendingPathComponent("\(name).jsonl")
            guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
                throw RawCaptureFileError("cannot create \(path)")
            }
            handles[topic] = handle
        }
        return ReplaySink(.files(handles), topics: topics)
    }

    /// Runs `body` with the sink open (a producer polls meanwhile), then flushes and closes it.
    func run(_ body: (ReplaySink) async throws -> Void) async throws {
        switch target {
        case .kafka(let producer):
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await producer.runUntilShutdown() }
                do {
                    try await body(self)
                    try await flush()
                } catch {
                    await producer.shutdown()
                    throw error
                }
                await producer.shutdown()
                try await group.waitForAll()
            }
        case .files(let handles):
            try await body(self)
            for handle in handles.values { try handle.close() }
        }
    }

    func write(_ messages: [KafkaProducerMessage]) async throws {
        guard !messages.isEmpty else { return }
        switch target {
        case .kafka:
            pending += messages
            if pending.count >= 5_000 { try await flush() }
        case .files(let handles):
            for message in messages {
                try handles[message.topic]?.write(contentsOf: message.value + [UInt8(ascii: "\n")])
            }
        }
    }

    private func flush() async throws {
        guard case .kafka(let producer) = target, !pending.isEmpty else { return }
        let batch = pending
        pending = []
        for result in await producer.send(contentsOf: batch) {
            if case .failure(let error) = result { throw error }
        }
    }
}
