import FXCore
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
            book.record(.exchangeToReceive, source: "coinbase", nanoseconds: base + tail)
        }
        book.record(.exchangeToReceive, source: "coinbase", nanoseconds: -5)
        samples.sort()
        func exact(_ percentile: Double) -> Double {
            Double(samples[min(samples.count - 1, Int((percentile / 100 * Double(samples.count)).rounded(.up)) - 1)]) / 1_000
        }
        let measured = book.percentiles(.exchangeToReceive, source: "coinbase")
        #expect(measured?.count == 200_000, "the negative sample is counted apart")
        #expect(book.negative.values.reduce(0, +) == 1)
        for (percentile, value) in [(50.0, measured?.p50), (90, measured?.p90), (99, measured?.p99), (99.9, measured?.p999)] {
            let error = abs(Double(value ?? 0) - exact(percentile)) / exact(percentile)
            #expect(error <= 0.01, "p\(percentile): \(value ?? 0) µs vs exact \(exact(percentile)) µs")
        }
        #expect(book.percentiles(.exchangeToReceive, source: "finnhub") == nil)
    }
}
