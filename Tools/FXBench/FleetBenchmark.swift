import ArgumentParser
import Foundation
import FXContracts
import FXCore
import FXKafka
import Logging
import Synchronization

/// An ingestor fleet's failover and join times against the local broker: `replicas` ingestors with
/// one feeds configuration (fxsim's Coinbase, `symbols` products, `per-connection` to a shard) split
/// the shards; then, `kills` times, one replica is SIGKILLed (timed until the survivors' heartbeats show
/// every shard streaming again) and a replacement started (timed from its first heartbeat until it
/// streams shards and every shard is covered once). The baseline, in the same run, is the fleet's
/// session timeout: the part of a failover that is waiting for the group to notice the death.
struct FleetBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fleet", abstract: "Ingestor fleet: failover and join times.")

    @OptionGroup var options: BenchOptions
    @Option(help: "Ingestor replicas.") var replicas: Int = 3
    @Option(help: "Kills (each followed by a replacement's join).") var kills: Int = 10
    @Option(help: "Simulated Coinbase products.") var symbols: Int = 30
    @Option(help: "Products per connection (the shard size).") var perConnection: Int = 5
    @Option(help: "The fleet's session timeout, ms.") var sessionTimeoutMs: Int = 6_000
    @Option(help: "Directory of the ingestor and fxsim executables (default: next to fxbench).") var binDir: String?

    /// The newest heartbeat of every instance.
    final class Beats: Sendable {
        let latest = Mutex<[String: Heartbeat]>([:])

        func read(_ consumer: KafkaConsumer) async throws {
            for try await event in consumer.events {
                guard case .message(let message) = event, let json = try? JSONParser().parse(message.value),
                      let beat = Heartbeat.read(json, receivedAt: 0).heartbeat, beat.service == "ingestor" else { continue }
                latest.withLock { $0[beat.instance] = beat }
            }
        }

        /// Shard -> instances streaming it, from `instances`' heartbeats sent after `since`.
        func owners(_ instances: Set<String>, since: Int64) -> [String: [String]] {
            var owners: [String: [String]] = [:]
            for (instance, beat) in latest.withLock({ $0 }) where instances.contains(instance) && beat.timestamp > since {
                guard let section = beat.ingestor, let fleet = section.fleet else { continue }
                for shard in fleet.shards where section.connections.contains(where: { $0.id == shard && $0.state == .streaming }) {
                    owners[shard, default: []].append(instance)
                }
            }
            return owners
        }

        func firstBeat(_ instance: String, since: Int64) -> Bool {
            latest.withLock { $0[instance].map { $0.timestamp > since } ?? false }
        }
    }

    func run() async throws {
        var logger = Logger(label: "fxbench")
        logger.logLevel = .error
        let bin = binDir ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let prefix = "benchfleet\(UUID().uuidString.prefix(6).lowercased())."
        let shards = (symbols + perConnection - 1) / perConnection
        let simPort = try PipelineBenchmark.freePort()
        let sim = try Child("\(bin)/fxsim", ["--port", String(simPort), "--step-ms", "100"], environment: [:])
        let env = ["KAFKA_BROKERS": options.brokers, "TOPIC_PREFIX": prefix, "LOG_LEVEL": "warning"]
        let products = (0..<symbols).map { String(format: "F%03d-USD", $0) }.joined(separator: ",")
        func start(_ instance: String) throws -> Child {
            try Child("\(bin)/ingestor", ["--provider", "coinbase", "--symbols", products, "--max-symbols-per-connection", String(perConnection),
                                          "--ws-url", "ws://127.0.0.1:\(simPort)/coinbase", "--partitions", "2", "--health-interval-ms", "200ms",
                                          "--fleet-group", "bench", "--fleet-session-timeout-ms", String(sessionTimeoutMs),
                                          "--instance-id", instance, "--http-port", String(try PipelineBenchmark.freePort())], environment: env)
        }
        let beats = Beats()
        let health = try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: options.brokers, properties: [
            "session.timeout.ms": "6000", "heartbeat.interval.ms": "500", "auto.offset.reset": "latest", "topic.metadata.refresh.interval.ms": "1000"]),
            groupID: prefix + "bench-health", topics: [prefix + "health"], logger: logger)
        let reader = Task { try await whileRunning(health) { try await beats.read(health) } }
        var running: [String: Child] = [:]
        defer {
            reader.cancel()
            for child in running.values { child.stop() }
            sim.stop()
        }
        func waitCovered(_ instances: Set<String>, since: Int64, timeout: Duration) async throws {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                let owners = beats.owners(instances, since: since)
                if owners.count == shards, owners.values.allSatisfy({ $0.count == 1 }) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw ValidationError("shards not covered once by \(instances.sorted()) within \(timeout): \(beats.owners(instances, since: since))")
        }

        for index in 0..<replicas { running["r\(index)"] = try start("r\(index)") }
        try await waitCovered(Set(running.keys), since: 0, timeout: .seconds(90))
        var failovers: [Double] = [], joins: [Double] = []
        var next = replicas
        for kill in 0..<kills {
            let victim = running.keys.sorted()[kill % running.count]
            let killedAt = WallClock.nanoseconds()
            let started = ContinuousClock.now
            Foundation.kill(running[victim]!.process.processIdentifier, SIGKILL)
            running[victim] = nil
            try await waitCovered(Set(running.keys), since: killedAt, timeout: .seconds(60))
            failovers.append((ContinuousClock.now - started).seconds)
            // A replacement joins: from its first heartbeat (the process is up) until it streams its share.
            let newcomer = "r\(next)"
            next += 1
            let spawnedAt = WallClock.nanoseconds()
            running[newcomer] = try start(newcomer)
            while !beats.firstBeat(newcomer, since: spawnedAt) { try await Task.sleep(for: .milliseconds(20)) }
            let up = ContinuousClock.now
            let upAt = WallClock.nanoseconds()
            let deadline = up + .seconds(60)
            while ContinuousClock.now < deadline {
                let owners = beats.owners(Set(running.keys), since: upAt)
                if owners.count == shards, owners.values.allSatisfy({ $0.count == 1 }), owners.values.contains(where: { $0 == [newcomer] }) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            joins.append((ContinuousClock.now - up).seconds)
            print(String(format: "round %d: failover %.2f s (killed %@), join %.2f s", kill + 1, failovers.last!, victim, joins.last!))
        }
        let session = Double(sessionTimeoutMs) / 1_000
        func summary(_ values: [Double]) -> String {
            let sorted = values.sorted()
            let median = sorted[sorted.count / 2]
            return String(format: "median %.2f s, max %.2f s (%.2fx / %.2fx the session timeout)", median, sorted.last!, median / session, sorted.last! / session)
        }
        print("fleet of \(replicas) replicas, \(shards) shards, session timeout \(session) s, \(kills) kills:")
        print("  failover (SIGKILL -> every shard streaming again): \(summary(failovers))")
        print("  join (a new replica's first heartbeat -> it streams its shards): \(summary(joins))")
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
