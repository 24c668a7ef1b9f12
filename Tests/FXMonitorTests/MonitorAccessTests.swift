import FXContracts
import FXCore
@testable import FXMonitor
import FXTestSupport
import Foundation
import Testing

/// The monitor's HTTP surface: a bearer token for the page and the API, a Content-Security-Policy on the
/// page, the probes and metrics always open; and heartbeats it does not expect are shown, never believed.
@Suite("Monitor: access to the page and the API, and heartbeats it does not trust")
struct MonitorAccessTests {
    typealias S = MonitorTestSupport

    /// A monitor executable that asks for `token`, once it answers.
    static func monitor(token: String, topicPrefix: String) async throws -> ServiceProcess {
        let topics = try await KafkaTestKit.pipelineTopics(topicPrefix)
        let monitor = try await ServiceProcess("monitor", arguments: ["--topic-prefix", topics.prefix],
                                               environment: ["MONITOR_AUTH_TOKEN": token, "DATABASE_URL": TestEnvironment.databaseURL,
                                                             "KAFKA_PROPERTIES": "session.timeout.ms=6000,heartbeat.interval.ms=500"])
        try #require(try await TestEnvironment.eventually(timeout: .seconds(30)) { await monitor.get("/health/live")?.status == 200 })
        return monitor
    }

    @Test("a heartbeat of an unknown service, or of an instance expected_instances does not list, is set aside, counted and listed; an expected one is believed")
    func untrustedHeartbeats() {
        let service = S.service { $0.expectedInstances = ["ingestor:ingestor-coinbase-*", "backfiller:bf-1"] }
        let now = S.wednesday
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "ingestor-coinbase-7f9c", ts: now, lastMessage: now), now: now)
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "laptop-of-mallory", ts: now, lastMessage: now), now: now)
        service.apply(topic: S.topics.health, value: S.ingestorHeartbeat(instance: "laptop-of-mallory", ts: now, lastMessage: now), now: now + S.second)
        service.apply(topic: S.topics.health, value: S.bytes(#"{"v":1,"service":"intruder","instance":"x","ts":\#(now),"counters":{}}"#), now: now)
        service.evaluate(now: now + S.second)
        let (instances, untrusted) = service.state.withLock { ($0.board.instanceSnapshot, $0.trust.untrusted) }
        #expect(instances.map { $0.instance } == ["ingestor-coinbase-7f9c"], "only the expected instance is tracked")
        #expect(untrusted["ingestor:laptop-of-mallory"] == HeartbeatTrust.Sender(reason: .unexpectedInstance, count: 2, lastSeen: now + S.second))
        #expect(untrusted["intruder:x"]?.reason == .unknownService)
        #expect(service.ignoredCount(IgnoreReason.unexpectedInstance) == 2 && service.ignoredCount(IgnoreReason.unknownService) == 1)
    }

    @Test("without expected_instances any instance of the pipeline's services is believed; other services are not; the list of senders stays bounded")
    func defaultTrust() {
        var trust = HeartbeatTrust()
        #expect(trust.refusal(service: "ingestor", instance: "anything") == nil && trust.refusal(service: "backfiller", instance: "b") == nil)
        #expect(trust.refusal(service: "monitor", instance: "m") == .unknownService, "the monitor sends no heartbeats: one claiming to be it is spoofed")
        for index in 0..<(HeartbeatTrust.maxListed + 10) {
            trust.refused(key: "intruder:\(index)", reason: .unknownService, now: Int64(index))
        }
        #expect(trust.untrusted.count == HeartbeatTrust.maxListed && trust.untrusted["intruder:0"] == nil, "the oldest senders are forgotten first")
    }

    @Test("the candle endpoint's gate admits its limit at once and refuses the next until one leaves; the token comparison needs every byte")
    func gateAndComparison() {
        let gate = RequestGate(limit: 2)
        #expect(gate.enter() && gate.enter())
        #expect(!gate.enter(), "a third request at once is refused (503)")
        gate.leave()
        #expect(gate.enter(), "a freed slot admits again")
        let token = Array("abcdef".utf8)
        #expect(MonitorHTTPAccess.equal(token, token))
        #expect(!MonitorHTTPAccess.equal(Array("abcdeg".utf8), token) && !MonitorHTTPAccess.equal(Array("abcde".utf8), token))
    }

    @Test("with a token: the page and /api/* answer 401 without it (the page with its login form), 200 with the bearer header or the cookie; /health and /metrics stay open; the page carries a strict CSP", .tags(.integration))
    func token() async throws {
        let token = "s3cret-\(UUID().uuidString)"
        let monitor = try await Self.monitor(token: token, topicPrefix: "access")
        for path in ["/api/streams", "/api/instances", "/api/alerts", "/api/candles?source=coinbase&symbol=BTC/USD"] {
            let anonymous = await monitor.fetch(path)
            #expect(anonymous?.status == 401 && anonymous?.headers["www-authenticate"]?.hasPrefix("Bearer") == true, "\(path): \(String(describing: anonymous))")
            #expect(await monitor.fetch(path, headers: ["Authorization": "Bearer wrong-\(token)"])?.status == 401)
            #expect(await monitor.fetch(path, headers: ["Authorization": "Bearer \(token.dropLast())x"])?.status == 401, "same length, one byte off")
            let status = await monitor.fetch(path, headers: ["Authorization": "Bearer \(token)"])?.status
            #expect(status == 200 || (path.contains("candles") && status == 503), "\(path) with the token: \(String(describing: status))")
        }
        let badPrice = await monitor.fetch("/api/candles?source=coinbase&symbol=BTC/USD&price_type=foo", headers: ["Authorization": "Bearer \(token)"])
        #expect(badPrice?.status == 400, "a price type outside trade, mid, bid, ask: \(String(describing: badPrice))")
        let cookie = await monitor.fetch("/api/streams", headers: ["Cookie": "theme=dark; fxstream_token=\(token)"])
        #expect(cookie?.status == 200, "the login cookie opens the API")
        let login = await monitor.fetch("/")
        #expect(login?.status == 401 && login?.body.contains(#"id="token""#) == true && login?.body.contains("FXStream status") == true)
        #expect(login?.body.contains(token) == false)
        let page = await monitor.fetch("/", headers: ["Cookie": "fxstream_token=\(token)"])
        #expect(page?.status == 200 && page?.body.contains(#"<tbody id="streams">"#) == true)
        for response in [login, page] {
            let policy = response?.headers["content-security-policy"] ?? ""
            #expect(policy.hasPrefix("default-src 'none'") && policy.contains("script-src 'sha256-") && policy.contains("style-src 'sha256-")
                    && policy.contains("connect-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "\(policy)")
            #expect(response?.headers["x-content-type-options"] == "nosniff")
        }
        #expect(await monitor.fetch("/health/ready")?.status != 401)
        let metrics = await monitor.fetch("/metrics")
        #expect(metrics?.status == 200 && metrics?.body.contains(token) == false)
        #expect(!monitor.log.contains(token), "the token never reaches the log")
        let status = await monitor.terminate(timeout: .seconds(30))
        #expect(status == 0, "exit \(String(describing: status)): \(monitor.log.suffix(3000))")
    }

    @Test("in a real browser the login form takes the token, then the page loads its data under its Content-Security-Policy", .tags(.integration))
    func browserLogin() async throws {
        guard HeadlessBrowser.executable != nil else { Issue.record("no Chromium: the browser specs need it (scripts/install-deps.sh)"); return }
        let token = "tok-\(UUID().uuidString)"
        let monitor = try await Self.monitor(token: token, topicPrefix: "accessui")
        let browser = try HeadlessBrowser("http://127.0.0.1:\(monitor.port)/")
        defer { browser.close() }
        let form = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            (try? await browser.evaluate("document.getElementById('token') ? 'form' : 'none'")) == "form"
        }
        #expect(form, "the login form is shown first")
        _ = try await browser.evaluate("document.getElementById('token').value = '\(token)'; document.getElementById('enter').click(); 'ok'")
        var updated = ""
        let loaded = try await TestEnvironment.eventually(timeout: .seconds(20)) {
            updated = (try? await browser.evaluate("document.getElementById('updated') ? document.getElementById('updated').textContent : 'no page'")) ?? ""
            return updated.hasPrefix("updated ")
        }
        #expect(loaded, "the page's script ran (allowed by its hash) and its API calls carried the cookie: \(updated)")
        #expect(await monitor.terminate(timeout: .seconds(30)) == 0)
    }
}
