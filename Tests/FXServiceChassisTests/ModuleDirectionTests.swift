import Foundation
import Testing

/// The package's dependency direction, read from `Package.swift`: service libraries depend on the shared
/// modules and the bridges, never on each other; the chassis and the shared modules depend on no service
/// library; developer tools live outside `Shared/`.
@Suite("Module direction")
struct ModuleDirectionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let serviceLibraries = ["FXIngest", "FXAggregate", "FXBackfill", "FXMonitor"]

    /// Each library target's declared dependencies (target names in quotes up to its `path:`).
    static func targets() throws -> [String: (dependencies: Set<String>, path: String)] {
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let declaration = try Regex(#"\.target\(name: "([A-Za-z]+)"(.*?)path: "([^"]+)""#).dotMatchesNewlines()
        var result: [String: (dependencies: Set<String>, path: String)] = [:]
        for match in manifest.matches(of: declaration) {
            let name = String(match.output[1].substring ?? "")
            let body = String(match.output[2].substring ?? "")
            // Plain target names only: `.product(name: ..., package: ...)` entries are external packages.
            let withoutProducts = body.replacing(try Regex(#"\.product\([^)]*\)"#), with: "")
            let names = withoutProducts.matches(of: try Regex(#""([A-Za-z]+)""#)).compactMap { $0.output[1].substring.map(String.init) }
            result[name] = (Set(names), String(match.output[3].substring ?? ""))
        }
        return result
    }

    @Test("service libraries depend on shared modules and the bridges, never on each other")
    func servicesAreIndependent() throws {
        let targets = try Self.targets()
        for library in Self.serviceLibraries {
            let target = try #require(targets[library], "\(library) is a target of Package.swift")
            let others = target.dependencies.intersection(Self.serviceLibraries).subtracting([library])
            #expect(others.isEmpty, "\(library) depends on \(others.sorted())")
        }
    }

    @Test("shared modules and the chassis depend on no service library, and nothing in Shared/ is a developer tool")
    func sharedModulesStayBelow() throws {
        let targets = try Self.targets()
        #expect(targets.count >= 12, "the manifest was read: \(targets.keys.sorted())")
        for (name, target) in targets where target.path.hasPrefix("Shared/") && !Self.serviceLibraries.contains(name) {
            let services = target.dependencies.intersection(Self.serviceLibraries)
            #expect(services.isEmpty, "\(name) depends on the service libraries \(services.sorted())")
        }
        for tool in ["FXSim"] {
            let target = try #require(targets[tool])
            #expect(target.path.hasPrefix("Tools/"), "\(tool) lives in Tools/, not \(target.path)")
        }
    }
}
