import Foundation
import FXCore
import FXKafka
import FXTestSupport
import Testing

/// The status page in a real headless browser (Debian's Chromium) against a running pipeline.
@Suite("Monitor: the status page in a browser", .serialized, .tags(.integration))
struct StatusPageBrowserTests {
    @Test("the page renders every stream with its state, a candle chart, stage latencies, rates, lag and the backfill queue, and shows a silenced stream turn stale without a reload")
    func page() async throws {
        let topics = try await KafkaTestKit.pipelineTopics("page")
        let database = try await PostgresTestKit.freshDatabase("page")
        let kafka = ["KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500", "DATABASE_URL": database]
        let sim = try await ServiceProcess("fxsim", arguments: ["--step-ms", "50"])
        try #require(try await TestEnvironment.eventually { await sim.get("/control/stats")?.status == 200 })
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix, "--stale-after", "coinbase=4s",
                                                                "--evaluate-interval-ms", "200"], environment: kafka)
        let aggregator = try await ServiceProcess("aggregator", arguments: ["--topic-prefix", topics.prefix], environment: kafka)
        let backfiller = try await ServiceProcess("backfiller", arguments: ["--topic-prefix", topics.prefix, "--health-interval-ms", "500",
                                                                      "--rest-url", "coinbase=http://127.0.0.1:\(sim.port)/coinbase",
                                                                      "--bootstrap-days", "0"], environment: kafka)
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { await MonitorLifecycleTests.ownsPartitions(monitor) })
        let ingestor = try await ServiceProcess("ingestor", arguments: ["--provider", "coinbase", "--symbols", "BTC-USD,ETH-USD", "--ws-url",
                                                                  "ws://127.0.0.1:\(sim.port)/coinbase", "--topic-prefix", topics.prefix,
                                                                  "--health-interval-ms", "500"])
        let ready = try await TestEnvironment.eventually(timeout: .seconds(60)) {
            let streams = await monitor.get("/api/streams")?.body ?? ""
            let candles = await monitor.get("/api/candles?source=coinbase&symbol=BTC/USD")?.body ?? ""
            return streams.components(separatedBy: #""state":"live""#).count == 3 && candles.contains(#""open""#)
        }
        #expect(ready, "streams live and candles stored; monitor log:\n\(monitor.log.suffix(2000))")

        // Beyond single streams: every stage's latency, rates per source, the aggregator's lag, the backfill queue.
        var latency: JSONValue = .null, pipeline: JSONValue = .null
        let measured = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            latency = (try? JSONParser().parse(await monitor.get("/api/latency")?.body ?? "")) ?? .null
            pipeline = (try? JSONParser().parse(await monitor.get("/api/pipeline")?.body ?? "")) ?? .null
            return ["exchange_to_receive", "receive_to_ack", "tick_to_candle"].allSatisfy { measure in
                let source = measure == "exchange_to_receive" ? "coinbase" : "all"
                return latency[measure]?[source]?["count"]?.int64Value ?? 0 > 0
            } && pipeline["rates"]?["candles"]?["coinbase"]?["last_minute"]?.int64Value ?? 0 > 0
              && pipeline["lag"]?.arrayValue?.contains { $0["service"]?.stringValue == "aggregator" && $0["topic"]?.stringValue == topics.ticks } == true
              && pipeline["lag"]?.arrayValue?.contains { $0["service"]?.stringValue == "backfiller" && $0["topic"]?.stringValue == topics.gaps } == true
              && pipeline["backfill"]?["queued"]?.int64Value != nil
        }
        #expect(measured, "latency: \(latency)\npipeline: \(pipeline)")
        let ticks = pipeline["rates"]?["ticks"]?["coinbase"]
        let ticksLastMinute = ticks?["last_minute"]?.int64Value ?? 0
        #expect(ticksLastMinute > 0 && ticksLastMinute == ticks?["total"]?.int64Value, "the pipeline is younger than a minute: every tick in the last minute: \(String(describing: ticks))")
        let tickToCandle = latency["tick_to_candle"]?["all"]?["p50_us"]?.int64Value ?? 0
        #expect(tickToCandle > 0 && tickToCandle < 10_000_000, "tick -> candle p50 is the flush interval's order, not zero or minutes: \(tickToCandle) µs")
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
        for measure in ["exchange_to_receive", "receive_to_ack", "tick_to_candle"] {
            #expect(first.contains(#"data-measure="\#(measure)""#), "a latency row for \(measure)")
        }
        #expect(first.contains(#"<tr data-source="coinbase">"#), "rates of the coinbase source")
        #expect(first.contains(#"data-partition="\#(topics.ticks):"#), "the aggregator's partitions with their lag")
        #expect(first.contains(#"id="backfill" class="muted" data-queued=""#), "the backfill queue")

        // The same page, not reloaded, follows the silenced stream.
        _ = await sim.post("/control/silence?venue=coinbase&seconds=20")
        var redrawn = ""
        let stale = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            redrawn = (try? await browser.evaluate("document.querySelector('[data-stream=\"coinbase:BTC/USD\"]').dataset.state")) ?? ""
            return redrawn == "stale"
        }
        #expect(stale, "the silenced stream turned stale on the open page: \(redrawn)")
        for process in [ingestor, aggregator, backfiller, monitor] { #expect(await process.terminate(timeout: .seconds(20)) == 0) }
        await PostgresTestKit.dropDatabase(database)
    }
}
