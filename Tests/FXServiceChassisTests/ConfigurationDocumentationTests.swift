import FXAggregate
import FXBackfill
import FXConfiguration
import FXDatabaseChassis
import FXIngest
import FXMonitor
import FXServiceChassis
import Foundation
import Testing

/// The configuration tables of docs/configuration.md are generated from the keys declared in code; this keeps them equal.
enum ConfigurationReference {
    static func markdown() -> String {
        func section<Section: ConfigSection>(_ title: String, _ type: Section.Type, overrides: [String: String] = [:]) -> String {
            "#### \(title)\n\n" + ConfigDocumentation.markdownTable(type, defaultOverrides: overrides)
        }
        return [
            section("Every service", ServiceSettings.self, overrides: [
                "http_port": "ingestor `9101`, aggregator `9102`, backfiller `9103`, monitor `9104`",
                "instance_id": "the host name"]),
            section("Services that use PostgreSQL (aggregator, backfiller, monitor, fxadmin)", DatabaseSettings.self),
            section("`fxadmin create-topics`", AdminSettings.self),
            section("The ingestor: tuning", IngestorConfiguration.self),
            section("The ingestor: one feed from flags or environment", CommandLineFeed.self, overrides: [
                "provider": "none (a feed is required: these or `feeds` in the file)"]),
            section("The aggregator", AggregatorConfiguration.self, overrides: ["consumer_group": "`<topic prefix>aggregator`"]),
            section("The backfiller", BackfillerConfiguration.self, overrides: ["consumer_group": "`<topic prefix>backfiller`"]),
            section("The monitor", MonitorConfiguration.self),
        ].joined(separator: "\n")
    }
}

@Suite("Configuration documentation")
struct ConfigurationDocumentationTests {
    @Test("the configuration tables of docs/configuration.md equal the keys, flags, variables and defaults declared in code")
    func readmeAgrees() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let begin = "<!-- configuration-reference:begin -->\n", end = "<!-- configuration-reference:end -->"
        let expected = ConfigurationReference.markdown()
        guard let start = readme.range(of: begin), let stop = readme.range(of: end, range: start.upperBound..<readme.endIndex) else {
            Issue.record("docs/configuration.md lacks the configuration reference markers")
            return
        }
        let actual = String(readme[start.upperBound..<stop.lowerBound])
        if actual != expected {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("configuration-reference.md")
            try? expected.write(to: path, atomically: true, encoding: .utf8)
            Issue.record("docs/configuration.md configuration tables differ from the code; the generated tables are in \(path.path)")
        }
    }
}
