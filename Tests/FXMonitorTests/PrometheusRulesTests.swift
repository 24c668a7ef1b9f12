import Foundation
import FXMonitor
import FXTestSupport
import Testing

/// The Prometheus rules shipped in deploy/ are valid and behave like the monitor's built-in rules.
@Suite("Monitor: Prometheus rules in deploy/", .tags(.integration))
struct PrometheusRulesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("promtool accepts deploy/prometheus-alerts.yml and its unit tests pass (stale after 30 s, escalated after 5 more minutes, missing instance at once; the monitor absent, consumer lag, backfill age, a dependency down, dropped ticks, lost gaps, flush failures)")
    func promtool() throws {
        let rules = Self.root.appendingPathComponent("deploy/prometheus-alerts.yml").path
        let unitTests = Self.root.appendingPathComponent("Tests/FXMonitorTests/prometheus-alerts.test.yml").path
        #expect(try Subprocess.run(["promtool", "check", "rules", rules]) == 0, "promtool check rules \(rules)")
        #expect(try Subprocess.run(["promtool", "test", "rules", unitTests]) == 0, "promtool test rules \(unitTests)")
    }

    @Test("the Prometheus rules cover every built-in monitor rule with the same for and severity")
    func equivalent() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/prometheus-alerts.yml"), encoding: .utf8)
        let expected: [(String, String, String)] = [
            ("FXStreamStreamStale", "30s", "warning"), ("FXStreamStreamStaleEscalated", "330s", "critical"), ("FXStreamStreamDown", "15s", "critical"),
            ("FXStreamLatencyP99High", "60s", "warning"), ("FXStreamFleetShardsUnowned", "30s", "critical"),
        ]
        for (alert, holdFor, severity) in expected {
            guard let range = text.range(of: "- alert: \(alert)\n") else { Issue.record("\(alert) missing"); continue }
            let block = text[range.upperBound...].prefix { _ in true }.components(separatedBy: "- alert:").first ?? ""
            #expect(block.contains("for: \(holdFor)") && block.contains("severity: \(severity)"), "\(alert): \(block)")
        }
        #expect(AlertRule.defaults.map(\.name) == ["stream_stale", "stream_down", "instance_missing", "latency_p99_high", "gaps_frequent", "fleet_shards_unowned",
                                                   "book_resyncs_frequent"])
        #expect(text.contains("increase(fx_monitor_book_resyncs_total[1h]) > 6") && AlertRule.defaults[6].condition == .bookResyncsPerHour(6))
        #expect(AlertRule.defaults[5].holdFor == .seconds(30) && AlertRule.defaults[5].severity == .critical)
        #expect(AlertRule.defaults[0].holdFor == .seconds(30) && AlertRule.defaults[0].escalateAfter == .seconds(300))
        #expect(AlertRule.defaults[1].holdFor == .seconds(15) && AlertRule.defaults[3].holdFor == .seconds(60))
    }

    @Test("every rule is named FXStream..., has a severity, a summary, a description and a runbook link to a section of docs/runbooks.md")
    func annotated() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("deploy/prometheus-alerts.yml"), encoding: .utf8)
        let runbooks = try String(contentsOf: Self.root.appendingPathComponent("docs/runbooks.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "- alert: ").dropFirst()
        #expect(blocks.count >= 15)
        for block in blocks {
            let name = String(block.prefix { $0 != "\n" })
            #expect(name.hasPrefix("FXStream"), "\(name)")
            for key in ["severity: ", "summary: ", "description: ", "runbook_url: docs/runbooks.md#"] {
                #expect(block.contains(key), "\(name) lacks \(key)")
            }
            guard let anchor = block.components(separatedBy: "runbook_url: docs/runbooks.md#").dropFirst().first?.prefix(while: { $0 != "\n" }) else { continue }
            // GitHub's anchors: the heading lower-cased.
            #expect(runbooks.contains("\n## \(anchor)") || runbooks.lowercased().contains("\n## \(anchor)"), "docs/runbooks.md has no section #\(anchor) (\(name))")
        }
    }
}
