import FXTestSupport
import Foundation
import Testing

/// The Kubernetes manifests as rendered (kustomize) and checked by scripts/validate-deploy.py: strict schemas,
/// and the promises docs/security.md makes of the NetworkPolicies, Secrets, roles and rules.
@Suite("Deployment manifests: rendered and checked", .serialized, .tags(.integration))
struct DeploymentManifestTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// A copy of deploy/, docker-compose.yml and the scripts, to break on purpose.
    static func copy() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fx-deploy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for item in ["deploy", "docker-compose.yml", "scripts", "docs"] {
            try FileManager.default.copyItem(at: root.appendingPathComponent(item), to: directory.appendingPathComponent(item))
        }
        return directory
    }

    static func validate(_ directory: URL) throws -> (status: Int32, output: String) {
        try Subprocess.output("/usr/bin/python3", [directory.appendingPathComponent("scripts/validate-deploy.py").path, directory.path])
    }

    static func edit(_ directory: URL, _ path: String, _ from: String, _ to: String) throws {
        let file = directory.appendingPathComponent(path)
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains(from), "\(path) no longer contains the text the spec breaks")
        try text.replacingOccurrences(of: from, with: to).write(to: file, atomically: true, encoding: .utf8)
    }

    @Test("the shipped manifests pass: default deny, each workload exactly its flows, its own Secret, generated ConfigMaps, the Ingress, the rules")
    func shipped() throws {
        let (status, output) = try Self.validate(Self.root)
        #expect(status == 0, "\(output)")
    }

    @Test("a policy letting an ingestor reach PostgreSQL, a missing default deny, a shared Secret or an Ingress exposing /metrics each fail the check, named",
          arguments: [
            ("deploy/k8s/base/network-policies.yaml", "values: [aggregator, backfiller, monitor, fxstream-setup]",
             "values: [aggregator, backfiller, monitor, fxstream-setup, ingestor-finnhub]", "ingestor-finnhub may reach ['internet', 'kafka', 'postgres']"),
            ("deploy/k8s/base/network-policies.yaml", "  name: default-deny\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]",
             "  name: default-deny\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]", "no default-deny NetworkPolicy"),
            ("deploy/k8s/base/ingestor-coinbase.yaml", "secret: {secretName: ingestor-coinbase-secrets}", "secret: {secretName: aggregator-secrets}",
             "ingestor-coinbase must mount only its own Secret"),
            ("deploy/k8s/overlays/production/monitor-ingress.yaml", "          - path: /api/\n", "          - path: /metrics\n",
             "must expose only / and /api/"),
            ("deploy/k8s/base/monitor.yaml", "strategy: {type: Recreate}", "strategy: {type: RollingUpdate}", "the monitor must use the Recreate strategy"),
          ])
    func broken(path: String, from: String, to: String, complaint: String) throws {
        let directory = try Self.copy()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.edit(directory, path, from, to)
        let (status, output) = try Self.validate(directory)
        #expect(status != 0 && output.contains(complaint), "\(output)")
    }
}
