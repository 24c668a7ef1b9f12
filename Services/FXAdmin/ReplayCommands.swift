import ArgumentParser
import FXContracts
import FXCore
import FXIngest
import Foundation
import Logging

/// The options shared by `replay` and `capture-export`: where the capture is and which part of it.
struct CaptureSelection: ParsableArguments {
    @Option(name: .customLong("from-topic"), help: "The raw capture topic to read (default: <prefix>raw, unless --from-file is given).")
    var fromTopic: String?
    @Option(name: .customLong("from-file"), parsing: .singleValue,
            help: "A capture file (or a directory of them) written by capture-export; repeatable. Replaces --from-topic.")
    var files: [String] = []
    @Option(name: .customLong("since"), help: "Keep what was received at or after this time (RFC 3339, e.g. 2026-12-06T10:00:00Z, or ns since the epoch).")
    var since: String?
    @Option(name: .customLong("until"), help: "Keep what was received before this time (same forms).")
    var until: String?
    @Option(name: .customLong("source"), parsing: .singleValue, help: "Only this source (e.g. coinbase); repeatable.")
    var sources: [String] = []

    func validate() throws {
        if fromTopic != nil, !files.isEmpty { throw ValidationError("give --from-topic or --from-file, not both") }
        let start = try Self.time(since, "--since"), end = try Self.time(until, "--until")
        if let start, let end, start >= end {
            throw ValidationError("--since must be before --until")
        }
    }

    static func time(_ text: String?, _ flag: String) throws -> Int64? {
        guard let text else { return nil }
        if let nanoseconds = Int64(text) { return nanoseconds }
        guard let nanoseconds = Timestamps.nanoseconds(rfc3339: text) else {
            throw ValidationError("\(flag) '\(text.prefix(40))' is neither RFC 3339 (2026-12-06T10:00:00Z) nor nanoseconds since the epoch")
        }
        return nanoseconds
    }

    func options(defaultTopic: String) throws -> ReplayJob.Options {
        var options = ReplayJob.Options()
        options.files = files
        options.fromTopic = files.isEmpty ? (fromTopic ?? defaultTopic) : nil
        options.since = try Self.time(since, "--since")
        options.until = try Self.time(until, "--until")
        options.sources = Set(sources)
        return options
    }
}

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Feed a raw capture through the current normalizers and feed trackers, in order, and publish the ticks, gaps and rejects to another prefix's topics (or files). Deterministic: the same capture gives the same messages, byte for byte.")
    @OptionGroup var selection: CaptureSelection
    @Option(name: .customLong("to-prefix"), help: "Publish to this prefix's ticks, gaps and rejects topics (created when missing, with --partitions).")
    var toPrefix: String?
    @Option(name: .customLong("to-dir"), help: "Write ticks.jsonl, gaps.jsonl and rejects.jsonl (one message a line) here instead of publishing.")
    var toDirectory: String?
    @OptionGroup var flags: AdminFlags

    func validate() throws {
        if (toPrefix == nil) == (toDirectory == nil) { throw ValidationError("give --to-prefix or --to-dir (one of them)") }
    }

    func run() async throws {
        guard let tasks = flags.tasks else { return }
        if let toPrefix, toPrefix == tasks.settings.topics.prefix {
            throw ValidationError("--to-prefix is the live prefix (\(toPrefix)): a replay must not write into the live topics")
        }
        var options = try selection.options(defaultTopic: tasks.settings.topics.raw)
        options.toPrefix = toPrefix
        options.toDirectory = toDirectory
        options.partitions = tasks.admin.partitions
        options.replicationFactor = tasks.admin.replicationFactor
        let report = try await ReplayJob.replay(options, kafka: tasks.settings.kafka, logger: tasks.logger)
        print("replayed \(report.records) record(s), \(report.frames) frame(s): \(report.ticks) tick(s), \(report.gaps) gap event(s), \(report.rejects) reject(s)"
              + (toPrefix.map { " -> \($0)ticks, \($0)gaps, \($0)rejects" } ?? toDirectory.map { " -> \($0)" } ?? ""))
        if report.missingRecords > 0 || report.captureDropped > 0 {
            print("the capture is incomplete: \(report.missingRecords) record(s) missing (holes in seq), of which the capture recorded dropping \(report.captureDropped)")
        }
        if report.unreplayable > 0 { print("\(report.unreplayable) record(s) of connections whose start is not in the capture read: not replayed") }
        if report.cut > 0 { print("\(report.cut) frame(s) larger than a Kafka message were captured cut: not replayed") }
        if report.unreadable > 0 { print("\(report.unreadable) control record(s) could not be read") }
    }
}

struct CaptureExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture-export",
        abstract: "Write a time range of the raw capture topic to zstd-compressed JSON Lines files, one per source and UTC day (<source>-<YYYY-MM-DD>.raw.jsonl.zst), which `replay --from-file` reads.")
    @OptionGroup var selection: CaptureSelection
    @Option(name: .customLong("to-dir"), help: "Directory for the files (created; files of the same name are replaced).")
    var toDirectory: String
    @OptionGroup var flags: AdminFlags

    func run() async throws {
        guard let tasks = flags.tasks else { return }
        let options = try selection.options(defaultTopic: tasks.settings.topics.raw)
        let paths = try await ReplayJob.export(options, directory: toDirectory, kafka: tasks.settings.kafka, logger: tasks.logger)
        for path in paths { print(path) }
        if paths.isEmpty { print("nothing captured in that range") }
    }
}
