import ArgumentParser
import Foundation
import FXContracts
import FXCore
import FXIngest
import FXKafka
import FXVenues
import Logging

private let benchLogger: Logger = {
    var logger = Logger(label: "fxbench")
    logger.logLevel = .warning
    return logger
}()

/// Order books, each measure against a baseline taken in the same round:
/// - **normalize + apply**: Kraken v2 `book` updates (100 pairs, 1-3 changed levels each, with their true
///   CRC32) through ``KrakenNormalizer`` and ``BookKeeper`` (exact levels, truncation to depth 10, the
///   checksum verified, the books-topic message built and encoded) vs scanning the same frames with
///   ``JSONScanner`` alone (the reader the normalizer uses). Updates/s on one core, and CPU µs per update.
/// - **topic -> library**: the keeper's messages produced to a books topic, then consumed and applied by
///   ``BookBuilder`` (`BookMessage(json:)` checks every level) vs consuming the same messages without
///   reading them. Needs the broker.
/// - **memory**: the RSS of 1,000 books kept at depth 100 (goal <= 256 MiB).
/// - **end to end** (``BookEndToEnd``): fxsim's Kraken -> the ingestor -> the books topic -> ``BookBuilder``,
///   latency from venue time to the library against the same run's ticks.
struct BookBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "books")
    @OptionGroup var options: BenchOptions
    @Option(help: "Book updates per round.") var updates: Int = 200_000
    @Option(help: "Pairs the updates are spread over.") var pairs: Int = 100
    @Flag(help: "Skip the measure through the broker.") var noKafka = false
    @Option(help: "End to end: Kraken pairs streamed by fxsim.") var endToEndPairs: Int = 100
    @Option(help: "End to end: fxsim's step (each pair's book changes once a step).") var endToEndStepMs: Int = 100
    @Option(help: "End to end: seconds measured (0: skip).") var endToEndSeconds: Int = 20

    func run() async throws {
        memory()   // first: before the frames and rounds below take (and free) memory of their own
        let (frames, snapshots) = Self.frames(pairs: pairs, updates: updates)
        let normalizer = KrakenNormalizer()
        var apply = RatioReport(name: "Kraken book updates: normalize + apply (BookKeeper, checksum) vs JSON scanning alone", unit: "upd/s")
        var cpu: [Double] = []
        for _ in 0..<options.rounds {
            // Baseline: scanning each frame with JSONScanner alone (every byte validated, no value kept), what
            // the normalizer's reader does before it builds levels.
            let base = try time {
                var members = 0
                for frame in frames {
                    let scanner = JSONScanner(frame, maxDepth: 8)
                    try scanner.forEachMember { (_: Range<Int>, _: JSONScanner.Token) throws(JSONParser.Error) in members += 1 }
                }
                guard members > 0 else { throw ValidationError("nothing scanned") }
            }
            var keepers = Self.keepers(pairs: pairs)
            for (index, snapshot) in snapshots.enumerated() {
                guard case .book(let update)? = normalizer.normalize(snapshot, receivedAt: 1_796_036_400_000_000_000).first else { throw ValidationError("snapshot") }
                _ = keepers[index].receive(update, receivedAt: 1_796_036_400_000_000_000)
            }
            var published = 0
            let cpuBefore = Self.cpuSeconds()
            let ours = try time {
                for (index, frame) in frames.enumerated() {
                    guard case .book(let update)? = normalizer.normalize(frame, receivedAt: 1_796_036_400_000_000_000).first else {
                        throw ValidationError("frame \(index) is not a book update")
                    }
                    for action in keepers[index % pairs].receive(update, receivedAt: 1_796_036_400_000_000_000) {
                        guard case .publish(let messages) = action else { throw ValidationError("update \(index) failed its check: \(action)") }
                        for message in messages { published += message.jsonBytes().count > 0 ? 1 : 0 }
                    }
                }
            }
            cpu.append((Self.cpuSeconds() - cpuBefore) / Double(frames.count) * 1e6)
            guard published == frames.count else { throw ValidationError("published \(published) of \(frames.count)") }
            apply.add(baseline: Double(frames.count) / base, bridge: Double(frames.count) / ours)
        }
        apply.printSummary(goal: nil)
        let perCore = apply.rows.map { $0.bridge }.sorted()[apply.rows.count / 2]
        print(String(format: "  normalize + apply: median %.0f updates/s on one core (goal >= 200,000: %@), CPU %.2f us per update (median)",
                     perCore, perCore >= 200_000 ? "met" : "NOT met", cpu.sorted()[cpu.count / 2]))
        if !noKafka { try await topicToLibrary(frames: frames, snapshots: snapshots) }
        if !noKafka, endToEndSeconds > 0 {
            try await BookEndToEnd(options: options, pairs: endToEndPairs, stepMilliseconds: endToEndStepMs, seconds: endToEndSeconds).run()
        }
    }

    /// 100 pairs' snapshots (depth 10) and `updates` updates round-robin over them, each with the CRC32 of
    /// the book it leaves (computed here with the library's book), prices to the cent with their zeros.
    static func frames(pairs: Int, updates: Int) -> (updates: [[UInt8]], snapshots: [[UInt8]]) {
        var random = SplitMix64(seed: 24)
        var books = (0..<pairs).map { _ in OrderBook(depth: 10) }
        let mids = (0..<pairs).map { _ in Int64(1_000_000 + random.next() % 5_000_000) }
        func text(_ units: Int64, _ scale: Int) -> String {
            let digits = String(units)
            let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
            return padded.dropLast(scale) + "." + padded.suffix(scale)
        }
        func json(_ levels: [BookLevel]) -> String { "[" + levels.map { #"{"price":\#($0.price),"qty":\#($0.quantity)}"# }.joined(separator: ",") + "]" }
        var snapshots: [[UInt8]] = []
        for pair in 0..<pairs {
            let bids = (1...10).map { BookLevel(price: text(mids[pair] - Int64($0), 2), quantity: text(Int64(1 + random.next() % 500_000_000), 8)) }
            let asks = (1...10).map { BookLevel(price: text(mids[pair] + Int64($0), 2), quantity: text(Int64(1 + random.next() % 500_000_000), 8)) }
            try? books[pair].replace(bids: bids, asks: asks)
            snapshots.append(Array(#"{"channel":"book","type":"snapshot","data":[{"symbol":"P\#(pair)/USD","bids":\#(json(bids)),"asks":\#(json(asks)),"checksum":\#(BookChecksum.kraken(books[pair])),"timestamp":"2026-12-04T10:00:00.000000Z"}]}"#.utf8))
        }
        var frames: [[UInt8]] = []
        frames.reserveCapacity(updates)
        for index in 0..<updates {
            let pair = index % pairs
            var bids: [BookLevel] = [], asks: [BookLevel] = []
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let bid = random.next() & 1 == 0
                let price = bid ? mids[pair] - Int64(1 + random.next() % 12) : mids[pair] + Int64(1 + random.next() % 12)
                let quantity = random.next() % 5 == 0 ? "0" : text(Int64(1 + random.next() % 500_000_000), 8)
                let level = BookLevel(price: text(price, 2), quantity: quantity)
                if bid { bids.append(level); try? books[pair].apply(.bid, level) } else { asks.append(level); try? books[pair].apply(.ask, level) }
            }
            books[pair].truncate()
            frames.append(Array(#"{"channel":"book","type":"update","data":[{"symbol":"P\#(pair)/USD","bids":\#(json(bids)),"asks":\#(json(asks)),"checksum":\#(BookChecksum.kraken(books[pair])),"timestamp":"2026-12-04T10:00:00.100000Z"}]}"#.utf8))
        }
        return (frames, snapshots)
    }

    static func keepers(pairs: Int, depth: Int = 10) -> [BookKeeper] {
        (0..<pairs).map { BookKeeper(source: "kraken", symbol: "P\($0)/USD", venueSymbol: "P\($0)/USD", instance: "bench",
                                     settings: .init(depth: depth, snapshotInterval: .seconds(3_600))) }
    }

    /// Produces the keeper's messages to a fresh books topic, then consumes them: applied by BookBuilder vs only received.
    private func topicToLibrary(frames: [[UInt8]], snapshots: [[UInt8]]) async throws {
        let kafka = KafkaConfiguration(bootstrapServers: options.brokers, properties: ["linger.ms": "5", "session.timeout.ms": "6000", "heartbeat.interval.ms": "500"])
        let topic = "bench-books-\(UInt32.random(in: 0...UInt32.max))"
        let admin = try KafkaAdmin(configuration: kafka, logger: benchLogger)
        _ = try await admin.createTopics([KafkaTopicSpec(name: topic, partitions: 3)])
        let normalizer = KrakenNormalizer()
        var keepers = Self.keepers(pairs: pairs)
        var messages: [KafkaProducerMessage] = []
        for (index, frame) in (snapshots + frames).enumerated() {
            guard case .book(let update)? = normalizer.normalize(frame, receivedAt: 1_796_036_400_000_000_000).first else { continue }
            let pair = index < snapshots.count ? index : (index - snapshots.count) % pairs
            for case .publish(let published) in keepers[pair].receive(update, receivedAt: 1_796_036_400_000_000_000) {
                messages += published.map { KafkaProducerMessage(topic: topic, key: Array($0.key.utf8), value: $0.jsonBytes()) }
            }
        }
        let producer = try KafkaProducer(configuration: kafka, logger: benchLogger)
        try await whileRunning(producer) {
            for start in stride(from: 0, to: messages.count, by: 10_000) {
                for result in await producer.send(contentsOf: Array(messages[start..<min(start + 10_000, messages.count)])) { _ = try result.get() }
            }
            await producer.shutdown()
        }
        var report = RatioReport(name: "books topic -> library: consume + BookMessage(json:) + BookBuilder vs consume alone", unit: "msg/s")
        for _ in 0..<options.rounds {
            let base = try await consume(kafka, topic: topic, count: messages.count) { _ in }
            var builder = BookBuilder()
            var failures = 0
            let ours = try await consume(kafka, topic: topic, count: messages.count) { message in
                guard let book = try? BookMessage(json: message.value) else { failures += 1; return }
                for event in builder.apply(book) {
                    if case .gap = event { failures += 1 } else if case .checksumMismatch = event { failures += 1 }
                }
            }
            guard failures == 0, builder.keys.count == pairs, builder.keys.allSatisfy({ builder.book($0) != nil }) else {
                throw ValidationError("the library did not rebuild every book (\(failures) failures)")
            }
            report.add(baseline: Double(messages.count) / base, bridge: Double(messages.count) / ours)
        }
        report.printSummary(goal: nil)
    }

    private func consume(_ kafka: KafkaConfiguration, topic: String, count: Int, _ body: (KafkaConsumerMessage) -> Void) async throws -> Double {
        let consumer = try KafkaConsumer(configuration: kafka, groupID: "bench-\(UInt32.random(in: 0...UInt32.max))", topics: [topic],
                                         rebalanceHandler: KafkaRebalanceHandler(partitionsAssigned: { partitions in
                                             Dictionary(uniqueKeysWithValues: partitions.map { ($0, KafkaOffset.beginning) })
                                         }), logger: benchLogger)
        return try await whileRunning(consumer) {
            var seen = 0
            var start: ContinuousClock.Instant?
            for try await event in consumer.events {
                guard case .message(let message) = event else { continue }
                if start == nil { start = .now }
                body(message)
                seen += 1
                if seen == count { break }
            }
            let elapsed = seconds(ContinuousClock.now - (start ?? .now))
            await consumer.close()
            return max(elapsed, 1e-9)
        }
    }

    /// RSS of 1,000 books of depth 100 (goal <= 256 MiB), levels with Kraken-like text.
    private func memory() {
        let before = MonitorBenchmark.rssMiB()
        var keepers = Self.keepers(pairs: 1_000, depth: 100)
        for pair in 0..<1_000 {
            let mid = Int64(1_000_000 + pair * 1_000)
            let bids = (1...100).map { BookLevel(price: String(format: "%d.%02d", (mid - Int64($0)) / 100, (mid - Int64($0)) % 100), quantity: "12.34567890") }
            let asks = (1...100).map { BookLevel(price: String(format: "%d.%02d", (mid + Int64($0)) / 100, (mid + Int64($0)) % 100), quantity: "12.34567890") }
            _ = keepers[pair].receive(BookUpdate(venueSymbol: "P\(pair)/USD", kind: .snapshot, bids: bids, asks: asks), receivedAt: 1_796_036_400_000_000_000)
        }
        let after = MonitorBenchmark.rssMiB()
        let levels = keepers.reduce(0) { $0 + $1.book.count(.bid) + $1.book.count(.ask) }
        print(String(format: "1,000 books of depth 100 (%d levels): RSS %.1f MiB -> %.1f MiB, %.1f MiB for the books (goal <= 256 MiB: %@)",
                     levels, before, after, after - before, after - before <= 256 ? "met" : "NOT met"))
        withExtendedLifetime(keepers) {}
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    private func time(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return seconds(ContinuousClock.now - start)
    }
}
