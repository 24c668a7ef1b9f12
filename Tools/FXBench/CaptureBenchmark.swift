import ArgumentParser
import FXContracts
import Foundation
import Logging

/// The raw capture's cost: the ingestor's CPU per frame with the capture off and on (zstd, lz4,
/// uncompressed), in the same round with the same frames (the sender in its own process, pinned), and the
/// raw producer's bytes on the wire per record (librdkafka's statistics: `tx_bytes` / `txmsgs`). The
/// capture's CPU per frame is the difference to the run without it.
struct CaptureBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "capture")
    @OptionGroup var options: BenchOptions
    @Option(help: "Frames (Coinbase matches) per run.") var messages: Int = 100_000
    @Option(help: "Products the frames are spread over.") var products: Int = 10
    @Option(help: "The core the sender process is pinned to with taskset (-1: not pinned).")
    var senderCore: Int = ProcessInfo.processInfo.activeProcessorCount - 1
    @Option(parsing: .upToNextOption, help: "The compressions to run after the run without capture (zstd, lz4, none; `off` alone: only the run without capture, e.g. for a profile).")
    var compressions: [String] = ["zstd", "lz4", "none"]

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let ingest = try IngestBenchmark.parse(["--brokers", options.brokers, "--messages", String(messages), "--products", String(products),
                                                "--sender-core", String(senderCore)])
        let symbols = (0..<products).map { "B\($0)-USD" }
        let frames = IngestBenchmark.frames(count: min(messages, 10_000), symbols: symbols)
        let frameBytes = Double(frames.reduce(0) { $0 + $1.utf8.count }) / Double(frames.count)
        let sample = RawRecord(kind: .frame, source: "coinbase", connection: "coinbase-0", instance: "bench", session: 1, subscriptionVersion: 1,
                               sequence: Int64(messages / 2), receivedAt: 1_796_594_903_477_098_317, value: [])
        let envelope = Double(sample.key.utf8.count + sample.headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.count })
        print(String(format: "frames: %.1f B on average; with the key and headers, %.1f B per record before compression", frameBytes, frameBytes + envelope))
        let variants: [String?] = compressions == ["off"] ? [nil] : [nil] + compressions.map { Optional($0) }
        var cpu: [String: [Double]] = [:], extraCPU: [String: [Double]] = [:], wire: [String: [Double]] = [:]
        for round in 0..<options.rounds {
            var offMicros: Double?
            print("round \(round + 1):")
            for variant in variants {
                let run = try await ingest.pipelineFromProcess(count: messages, symbols: symbols, rate: nil, logger: logger, capture: variant)
                let name = variant ?? "off"
                let micros = run.cpuMicrosPerFrame ?? .nan
                cpu[name, default: []].append(micros)
                var line = String(format: "  capture %@: %.2f µs CPU per frame (first to last tick acknowledged)", name, micros)
                if let offMicros {
                    extraCPU[name, default: []].append(micros - offMicros)
                    let bytes = run.captureWireBytesPerRecord ?? .nan
                    wire[name, default: []].append(bytes)
                    line += String(format: "; the capture: +%.2f µs per frame, %.1f B on the wire per record (%lld records)", micros - offMicros, bytes,
                                   run.captureRecords ?? 0)
                } else {
                    offMicros = micros
                }
                print(line)
            }
        }
        func median(_ values: [Double]?) -> Double {
            let sorted = (values ?? []).sorted()
            return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
        }
        print("medians over \(options.rounds) round(s):")
        print(String(format: "  without capture: %.2f µs CPU per frame", median(cpu["off"])))
        let uncompressed = median(wire["none"])
        for name in compressions where name != "off" {
            print(String(format: "  capture %@: +%.2f µs CPU per frame (%.2f of the ingest without it), %.1f B on the wire per record (%.3f of uncompressed)",
                         name, median(extraCPU[name]), median(extraCPU[name]) / median(cpu["off"]), median(wire[name]), median(wire[name]) / uncompressed))
        }
    }
}
