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
    @Test("records the queue refuses are counted and become one capture gap record before the next record that fits")
    func dropsBecomeACaptureGap() async throws {
        let queue = RawCaptureQueue(capacityBytes: 1 << 20, capacityMessages: 2)
        let metrics = RawCapture.Metrics(factory: NOOPMetricsHandler.instance)
        let tap = CaptureTap(source: "coinbase", connection: "coinbase-0", instance: "i-1", topic: "fx.raw", queue: queue, metrics: metrics)
        tap.control(.open, at: 1_000)
        tap.frame(Array("a".utf8), receivedAt: 2_000)
        tap.frame(Array("b".utf8), receivedAt: 3_000)   // full: dropped
        tap.frame(Array("c".utf8), receivedAt: 4_000)   // dropped, and the gap record tried before it too
        #expect(metrics.dropped.value == 3 && metrics.records.value == 2)
        let first = try #require(await queue.next(max: 10))
        #expect(first.count == 2)
        tap.frame(Array("d".utf8), receivedAt: 5_000)
        let second = try #require(await queue.next(max: 10))
        let records = try second.map { try RawRecord(key: $0.key, value: $0.value, headers: $0.headers.map { ($0.key, $0.value) }) }
        #expect(records.map(\.kind) == [.control, .frame])
        #expect(try RawControl(json: records[0].value) == .gap(dropped: 3, from: 3_000, to: 4_000))
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
    }
}
