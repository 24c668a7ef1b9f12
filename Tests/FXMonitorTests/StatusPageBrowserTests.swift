import Foundation
import FXCore
import FXKafka
import FXTestSupport
import Testing

/// The status page in a real headless browser (Debian's Chromium) against a running pipeline.
@Suite("Monitor: the status page in a browser", .serialized)
struct StatusPageBrowserTests {
    @Test("the page renders every stream with its state and a candle chart, and shows a silenced stream turn stale without a reload")
    func page() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("page")
        let database = try await PostgresTestKit.freshDatabase("page")
        let kafka = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "DATABASE_URL": database]
        let sim = try ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        #expect(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix, "--stale-after", "coinbase=4s",
                                                                "--evaluate-interval-ms", "200"], environment: kafka)
        let aggregator = try ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: kafka)
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { await monitor.get("/health/ready")?.status == 200 })
        try await Task.sleep(for: .seconds(4))
        let ingestor = try ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        let ready = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let streams = await monitor.get("/api/streams")?.body ?? ""
            let candles = await monitor.get("/api/candles?source=coinbase&symbol=BTC/USD")?.body ?? ""
            return streams.components(separatedBy: #""state":"live""#).count == 3 && candles.contains(#""open""#)
        }
        #expect(ready, "streams live and candles stored; monitor log:\n\(monitor.log.suffix(2000))")
        let page = "http://127.0.0.1:\(monitor.port)/"

        let browser = try HeadlessBrowser(page)
        defer { browser.close() }
        var first = ""
        let rendered = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            do { first = try await browser.html() } catch { first = "error: \(error)" }
            return first.contains(#"<rect class="candle""#) && first.contains(#"data-stream="coinbase:ETH/USD""#)
        }
        #expect(rendered, "the page drew its streams and charts:\n\(first.prefix(3000))")
        #expect(first.contains(#"data-stream="coinbase:BTC/USD" data-state="live""#), "the stream row, live")
        #expect(first.contains(#"data-stream="coinbase:ETH/USD" data-state="live""#))
        #expect(first.contains(#"<svg class="chart""#), "candle charts drawn (inline SVG)")
        #expect(first.contains(#"data-instance="ingestor:"#), "the ingestor instance listed")
        #expect(!first.contains("http://") || !first.contains("<script src"), "no asset from elsewhere")

        // The same page, not reloaded, follows the silenced stream.
        _ = await sim.post("/control/silence?venue=coinbase&seconds=20")
        var redrawn = ""
        let stale = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            redrawn = (try? await browser.evaluate("document.querySelector('[data-stream=\"coinbase:BTC/USD\"]').dataset.state")) ?? ""
            return redrawn == "stale"
        }
        #expect(stale, "the silenced stream turned stale on the open page: \(redrawn)")
        for process in [ingestor, aggregator, monitor] { #expect(await process.terminate(timeout: .seconds(20)) == 0) }
        await PostgresTestKit.dropDatabase(database)
    }
}
