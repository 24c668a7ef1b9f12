import FXContracts
import FXCore
import FXMetrics
import FXMonitor
import Testing

@Suite("Monitor: latency percentiles")
struct LatencyBookTests {
    @Test("percentiles of an injected latency distribution match the exact ones within 1%")
    func injected() {
        var book = LatencyBook()
        var random = SplitMix64(seed: 99)
        var samples: [Int64] = []
        for _ in 0..<200_000 {
            // A long-tailed distribution: mostly 1-20 ms, a tail to 2 s.
            let base = 1_000_000 + Int64(random.next() % 19_000_000)
            let tail = random.next() % 100 == 0 ? Int64(random.next() % 2_000_000_000) : 0
            samples.append(base + tail)
            book.record(.exchangeToReceive, source: "coinbase", nanoseconds: base + tail, now: 1_000)
        }
        book.record(.exchangeToReceive, source: "coinbase", nanoseconds: -5, now: 1_000)
        samples.sort()
        func exact(_ percentile: Double) -> Double {
            Double(samples[min(samples.count - 1, Int((percentile / 100 * Double(samples.count)).rounded(.up)) - 1)]) / 1_000
        }
        let measured = book.percentiles(.exchangeToReceive, source: "coinbase", now: 2_000)
        #expect(measured?.count == 200_000, "the negative sample is counted apart")
        #expect(book.negative.values.reduce(0, +) == 1)
        for (percentile, value) in [(50.0, measured?.p50), (90, measured?.p90), (99, measured?.p99), (99.9, measured?.p999)] {
            let error = abs(Double(value ?? 0) - exact(percentile)) / exact(percentile)
            #expect(error <= 0.01, "p\(percentile): \(value ?? 0) µs vs exact \(exact(percentile)) µs")
        }
        #expect(book.percentiles(.exchangeToReceive, source: "finnhub", now: 2_000) == nil)
    }

    @Test("percentiles speak of the last window only: old samples leave it slot by slot")
    func slidingWindow() {
        let minute: Int64 = 60_000_000_000
        var book = LatencyBook(window: .seconds(300), slots: 5)
        // Five minutes of slow samples (2 s), then fast ones (5 ms).
        for second in stride(from: Int64(0), to: 300, by: 1) {
            book.record(.exchangeToReceive, source: "coinbase", nanoseconds: 2_000_000_000, now: second * 1_000_000_000)
        }
        #expect(book.percentiles(.exchangeToReceive, source: "coinbase", now: 5 * minute - 1)?.p50 ?? 0 >= 1_990_000)
        for second in stride(from: Int64(300), to: 420, by: 1) {
            book.record(.exchangeToReceive, source: "coinbase", nanoseconds: 5_000_000, now: second * 1_000_000_000)
        }
        let mixed = book.percentiles(.exchangeToReceive, source: "coinbase", now: 7 * minute - 1)
        #expect(mixed?.count == 300, "three minutes slow + two fast = the last five one-minute slots: \(String(describing: mixed))")
        #expect(mixed?.p50 ?? 0 >= 1_990_000 && mixed?.p90 ?? 0 >= 1_990_000, "60% still slow: \(String(describing: mixed))")
        for second in stride(from: Int64(420), to: 600, by: 1) {
            book.record(.exchangeToReceive, source: "coinbase", nanoseconds: 5_000_000, now: second * 1_000_000_000)
        }
        let fresh = book.percentiles(.exchangeToReceive, source: "coinbase", now: 10 * minute - 1)
        #expect(fresh?.count == 300 && fresh?.p999 ?? .max <= 5_010, "after five minutes of fast samples, the slow ones are gone: \(String(describing: fresh))")
        #expect(book.percentiles(.exchangeToReceive, source: "coinbase", now: 20 * minute) == nil, "nothing in the last window")
    }

    @Test("heartbeat samples from several instances merge into pipeline-wide percentiles within 1%")
    func mergedHeartbeats() throws {
        var random = SplitMix64(seed: 7)
        var samples: [Int64] = []
        var book = LatencyBook()
        for _ in 0..<3 {
            let window = LatencyWindow()
            for _ in 0..<50_000 {
                let latency = 200_000 + Int64(random.next() % 50_000_000) + (random.next() % 200 == 0 ? Int64(random.next() % 3_000_000_000) : 0)
                samples.append(latency)
                window.record(nanoseconds: latency)
            }
            // What the heartbeat carries, read back as the monitor reads it.
            var writer = JSONWriter()
            window.drain().write(to: &writer)
            let json = try JSONParser().parse(writer.bytes)
            book.merge(.tickToCandle, source: "all", buckets: LatencySample.buckets(of: json), now: 1_000)
            #expect(window.drain().count == 0, "a drained window starts empty")
        }
        samples.sort()
        let merged = try #require(book.percentiles(.tickToCandle, source: "all", now: 2_000))
        #expect(merged.count == 150_000)
        for (percentile, value) in [(50.0, merged.p50), (90, merged.p90), (99, merged.p99), (99.9, merged.p999)] {
            let exact = Double(samples[Int(percentile / 100 * Double(samples.count)) - 1]) / 1_000
            #expect(abs(Double(value) - exact) / exact <= 0.01, "p\(percentile): \(value) µs vs exact \(exact) µs")
        }
    }
}
