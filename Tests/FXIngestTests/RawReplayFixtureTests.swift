import FXContracts
import FXCore
import FXKafka
@testable import FXIngest
import Foundation
import Metrics
import FXTestSupport
import Testing

/// Captures of the simulator's venues with faults (drops, skipped sequences, malformed, oversized and cut
/// frames), committed under `Fixtures/Captures/<name>/`, replayed through the current normalizers and
/// feed trackers and compared byte for byte with the stored `expected/` ticks, gaps and rejects: a
/// regression suite for every normalizer. A deliberate change of output is recorded again with
/// `FX_RECORD_CAPTURE_EXPECTATIONS=1` (and reviewed in the diff).
@Suite("Raw replay of committed captures")
struct RawReplayFixtureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/Captures").path

    static var fixtures: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test("every committed capture replays to its stored ticks, gaps and rejects, byte for byte", arguments: fixtures)
    func replaysToTheExpectation(_ name: String) async throws {
        let fixture = Self.root + "/" + name
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("fx-fixture-\(name)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        var options = ReplayJob.Options()
        options.files = [fixture + "/capture"]
        options.toDirectory = out
        let report = try await ReplayJob.replay(options, kafka: KafkaConfiguration(bootstrapServers: "unused:9092"), logger: TestEnvironment.logger("fixture-replay"))
        #expect(report.ticks > 0 && report.unreplayable == 0 && report.unreadable == 0, "\(report)")
        let record = ProcessInfo.processInfo.environment["FX_RECORD_CAPTURE_EXPECTATIONS"] == "1"
        for file in ["ticks.jsonl", "gaps.jsonl", "rejects.jsonl"] {
            let produced = try Data(contentsOf: URL(fileURLWithPath: out + "/" + file))
            let expectedPath = fixture + "/expected/" + file
            if record {
                try FileManager.default.createDirectory(atPath: fixture + "/expected", withIntermediateDirectories: true)
                try produced.write(to: URL(fileURLWithPath: expectedPath))
                continue
            }
            let expected = try Data(contentsOf: URL(fileURLWithPath: expectedPath))
            #expect(produced == expected, "\(name)/\(file): the replay differs from the stored expectation (\(produced.count) vs \(expected.count) bytes)")
        }
        // A second replay of the same files gives the same bytes.
        let again = out + "-again"
        defer { try? FileManager.default.removeItem(atPath: again) }
        options.toDirectory = again
        _ = try await ReplayJob.replay(options, kafka: KafkaConfiguration(bootstrapServers: "unused:9092"), logger: TestEnvironment.logger("fixture-replay"))
        for file in ["ticks.jsonl", "gaps.jsonl", "rejects.jsonl"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: again + "/" + file)) == Data(contentsOf: URL(fileURLWithPath: out + "/" + file)))
        }
    }

    @Test("the committed captures hold the faults they are meant to cover")
    func capturesCoverFaults() async throws {
        for name in Self.fixtures {
            let gaps = try String(contentsOfFile: Self.root + "/" + name + "/expected/gaps.jsonl", encoding: .utf8)
            let rejects = try String(contentsOfFile: Self.root + "/" + name + "/expected/rejects.jsonl", encoding: .utf8)
            for reason in [#""reason":"sequence""#, #""reason":"disconnect""#] { #expect(gaps.contains(reason), "\(name): \(reason)") }
            for reason in ["malformed_json", "invalid_price", "unsubscribed_symbol", "oversized_frame", "truncated_line"] { #expect(rejects.contains(#""reason":"\#(reason)""#), "\(name): \(reason)") }
        }
    }
}

/// The capture's bounds: a full queue drops from the capture only, and says so in the connection's records.
@Suite("Raw capture tap")
struct CaptureTapTests {
    /// 2026-12-06, as receive times are.
    static let t0: Int64 = 1_796_594_903_000_000_000

    @Test("records the queue refuses are counted and become one capture gap record before the next record that fits")
    func dropsBecomeACaptureGap() async throws {
        let queue = RawCaptureQueue(capacityBytes: 1 << 20, capacityMessages: 2)
        let metrics = RawCapture.Metrics(factory: NOOPMetricsHandler.instance)
        let tap = CaptureTap(source: "coinbase", connection: "coinbase-0", instance: "i-1", topic: "fx.raw", queue: queue, metrics: metrics)
        let t = Self.t0
        tap.control(.open, at: t + 1_000)
        tap.frame(Array("a".utf8), receivedAt: t + 2_000)
        tap.frame(Array("b".utf8), receivedAt: t + 3_000)   // full: dropped
        tap.frame(Array("c".utf8), receivedAt: t + 4_000)   // dropped, and the gap record tried before it too
        #expect(metrics.dropped.value == 3 && metrics.records.value == 2)
        let first = try #require(await queue.next(max: 10))
        #expect(first.count == 2)
        tap.frame(Array("d".utf8), receivedAt: t + 5_000)
        let second = try #require(await queue.next(max: 10))
        let records = try second.map { try RawRecord(key: $0.key, value: $0.value, headers: $0.headers.map { ($0.key, $0.value) }) }
        #expect(records.map(\.kind) == [.control, .frame])
        #expect(try RawControl(json: records[0].value) == .gap(dropped: 3, from: t + 3_000, to: t + 4_000))
        #expect(records.map(\.sequence) == [6, 7], "the lost records keep their numbers: seq 3 to 5 are the hole the gap explains")
        #expect(records[1].value == Array("d".utf8) && records[1].session == 1 && records[1].key == "coinbase:coinbase-0")
    }

    @Test("a record's headers carry the contract's fields and read back unchanged; the file form keeps any bytes")
    func headersAndFileLinesRoundTrip() throws {
        let record = RawRecord(kind: .frame, source: "oanda", connection: "oanda-1", instance: "host-7", session: 3, subscriptionVersion: 2,
                               sequence: 42, receivedAt: 1_765_000_000_123_456_789, value: [0x7B, 0xC3, 0x28, 0x00, 0x7D],
                               fullLength: 70_000, limit: 65_536, truncated: true)
        #expect(record.headers.map(\.0) == ["kind", "recv_ts", "connection", "instance", "session", "sub_version", "seq", "frame_bytes", "frame_limit", "truncated"])
        let read = try RawRecord(key: Array(record.key.utf8), value: record.value, headers: record.headers.map { ($0.0, Optional($0.1)) })
        #expect(read == record)
        #expect(try RawCaptureFile.record(line: RawCaptureFile.line(record)) == record, "invalid UTF-8 goes through base64")
        var text = record
        text.value = Array(#"{"type":"match","price":"1.5","note":"\u0000 é"}"#.utf8)
        #expect(String(decoding: RawCaptureFile.line(text), as: UTF8.self).contains(#""text":"#))
        #expect(try RawCaptureFile.record(line: RawCaptureFile.line(text)) == text)
    }

    @Test("a frame over the record limit keeps its first 4 KiB, marked cut with its length; a replay skips it")
    func oversizedForKafkaIsCut() async throws {
        let queue = RawCaptureQueue(capacityBytes: 1 << 24, capacityMessages: 10)
        let tap = CaptureTap(source: "coinbase", connection: "coinbase-0", instance: "i-1", topic: "fx.raw", queue: queue,
                             metrics: RawCapture.Metrics(factory: NOOPMetricsHandler.instance), maxRecordBytes: 10_000)
        tap.frame([UInt8](repeating: 0x61, count: 20_000), receivedAt: Self.t0)
        let message = try #require(await queue.next(max: 1)?.first)
        let record = try RawRecord(key: message.key, value: message.value, headers: message.headers.map { ($0.key, $0.value) })
        #expect(record.cut && record.fullLength == 20_000 && record.value.count == RejectRecord.maxRawBytes)
    }

    @Test("a record whose key and connection header disagree, or without a receive time, is refused with the field named")
    func malformedRecordsAreRefused() {
        #expect(throws: ContractError.self) {
            try RawRecord(key: Array("coinbase:coinbase-1".utf8), value: [], headers: [("kind", Array("frame".utf8)), ("connection", Array("coinbase-0".utf8))])
        }
        #expect(throws: ContractError.self) {
            try RawRecord(key: Array("coinbase:coinbase-0".utf8), value: [], headers: [("kind", Array("frame".utf8)), ("connection", Array("coinbase-0".utf8)),
                                                                                     ("instance", Array("i".utf8)), ("session", Array("1".utf8)),
                                                                                     ("sub_version", Array("1".utf8)), ("seq", Array("1".utf8))])
        }
        let valid: [(String, [UInt8]?)] = [("kind", Array("frame".utf8)), ("connection", Array("c-0".utf8)), ("instance", Array("i".utf8)),
                                          ("session", Array("1".utf8)), ("sub_version", Array("1".utf8)), ("seq", Array("1".utf8)),
                                          ("recv_ts", Array(String(Self.t0).utf8))]
        #expect((try? RawRecord(key: Array("c:c-0".utf8), value: [], headers: valid)) != nil)
        for (name, value) in [("recv_ts", "-9223372036854775808"), ("recv_ts", "12"), ("seq", "0"), ("seq", "9223372036854775807"), ("session", "-1")] {
            #expect(throws: ContractError.self, "\(name) = \(value) is refused, never trapping later") {
                try RawRecord(key: Array("c:c-0".utf8), value: [], headers: valid + [(name, Array(value.utf8))])
            }
        }
    }
}

/// Export files stand on their own: a connection that spans midnight starts the second day's file with its
/// `start`, `open` and `subscribe` records, copied as context.
@Suite("Raw capture files")
struct RawCaptureFileTests {
    static let midnight: Int64 = 1_796_601_600_000_000_000   // 2026-12-07T00:00:00Z

    static func record(_ sequence: Int64, at time: Int64, _ kind: RawRecord.Kind, _ value: [UInt8]) -> RawRecord {
        RawRecord(kind: kind, source: "coinbase", connection: "coinbase-0", instance: "i-1", session: 1, subscriptionVersion: 1,
                  sequence: sequence, receivedAt: time, value: value)
    }

    static func match(_ id: Int, at time: Int64) -> [UInt8] {
        Array(#"{"type":"match","trade_id":\#(id),"side":"buy","size":"0.5","price":"50000.10","product_id":"BTC-USD","sequence":\#(100 + id),"time":"\#(Timestamps.rfc3339(nanoseconds: time))"}"#.utf8)
    }

    @Test("the second day's file replays alone to the same ticks that day gave in the replay of both files")
    func dayFilesReplayAlone() async throws {
        let start = RawControl.start(.init(provider: "coinbase", symbols: ["BTC-USD"], canonical: ["BTC-USD": "BTC/USD"], sequenceCheck: "contiguous",
                                           connectionStaleAfterMs: 30_000, symbolStaleAfterMs: 30_000, maxMessageBytes: 1 << 20))
        let t = Self.midnight - 2_000_000_000
        let records = [Self.record(1, at: t, .control, start.jsonBytes()), Self.record(2, at: t + 1, .control, RawControl.open.jsonBytes()),
                       Self.record(3, at: t + 2, .control, RawControl.subscribe(symbols: ["BTC-USD"]).jsonBytes()),
                       Self.record(4, at: t + 1_000_000_000, .frame, Self.match(1, at: t + 1_000_000_000)),
                       Self.record(5, at: Self.midnight + 1_000_000_000, .frame, Self.match(2, at: Self.midnight + 1_000_000_000)),
                       Self.record(6, at: Self.midnight + 2_000_000_000, .frame, Self.match(3, at: Self.midnight + 2_000_000_000))]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fx-days-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try RawCaptureFile.Writer(directory: directory)
        var context: [RawRecord] = []
        for record in records {
            if record.kind == .control { context.append(record) }
            try writer.write(record, context: context)
        }
        try writer.close()
        #expect(writer.paths.map { ($0 as NSString).lastPathComponent } == ["coinbase-2026-12-06.raw.jsonl.zst", "coinbase-2026-12-07.raw.jsonl.zst"])

        func replay(_ paths: [String]) async throws -> (RawReplay.Report, [String]) {
            let replay = RawReplay(topics: TopicNames(prefix: "fix."), since: Self.midnight, logger: TestEnvironment.logger("days"))
            var values: [String] = []
            try await RawCaptureFile.read(paths) { record in values += await replay.replay(record).filter { $0.topic == "fix.ticks" }.map { String(decoding: $0.value, as: UTF8.self) } }
            return (replay.report, values)
        }
        let (both, bothTicks) = try await replay([directory])
        let (second, secondTicks) = try await replay([writer.paths[1]])
        #expect(both.missingRecords == 0 && both.unreplayable == 0 && second.missingRecords == 0 && second.unreplayable == 0, "\(both) \(second)")
        #expect(bothTicks.count == 2 && secondTicks == bothTicks, "the ticks of 2026-12-07: the same from one file as from both")
    }

    @Test("a file cut off inside its compressed data is an error naming the file, not a shorter replay")
    func cutFileIsAnError() async throws {
        let fixture = RawReplayFixtureTests.root + "/simulator-faults/capture/coinbase-2026-12-06.raw.jsonl.zst"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fx-cut-\(UUID().uuidString).raw.jsonl.zst").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try bytes.prefix(bytes.count * 2 / 3).write(to: URL(fileURLWithPath: path))
        await #expect(throws: RawCaptureFileError.self) {
            try await RawCaptureFile.read([path]) { _ in }
        }
        do { try await RawCaptureFile.read([path]) { _ in } } catch {
            #expect("\(error)".contains(path), "the error names the file: \(error)")
        }
    }
}
