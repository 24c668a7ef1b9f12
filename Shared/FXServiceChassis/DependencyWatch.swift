import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Runs each ``DependencyCheck`` until shutdown and publishes the results to ``Readiness`` and to the
/// gauge `fx_dependency_up{dependency}` (1 up, 0 down). The first checks run at once; later ones every
/// `interval`. A failing dependency is retried on the next tick, so a service started before its
/// broker or database becomes ready without a restart.
///
/// A check that has not answered within `timeout` (a black-holed server) reports not ready ("no answer
/// within ..."); it keeps running, and the next ticks wait for that same check again rather than start
/// another, so a slow check (a long migration) still reports when it ends.
public final class DependencyWatch: Service, Sendable {
    private let checks: [any DependencyCheck]
    private let readiness: Readiness
    private let interval: Duration
    private let timeout: Duration
    private let logger: Logger

    public init(checks: [any DependencyCheck], readiness: Readiness, interval: Duration = .seconds(5), timeout: Duration = .seconds(15),
                logger: Logger) {
        self.checks = checks
        self.readiness = readiness
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
        for check in checks { readiness.register(check.name) }
    }

    public func run() async throws {
        let gauges = checks.map { Gauge(label: "fx_dependency_up", dimensions: [("dependency", $0.name)]) }
        var inFlight: [Int: Task<DependencyStatus, Never>] = [:]
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            for (index, (check, gauge)) in zip(checks, gauges).enumerated() {
                let running = inFlight[index] ?? Task { await check.check() }
                if let status = await Self.value(of: running, within: timeout) {
                    inFlight[index] = nil
                    update(check.name, status, gauge: gauge)
                } else {
                    inFlight[index] = running
                    update(check.name, DependencyStatus(ready: false, detail: "no answer within \(timeout)"), gauge: gauge)
                }
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
        // A check still running after one more timeout keeps its client: closing it under the check (a long
        // migration) would fail it noisily. The process is stopping; the client goes with it.
        var stillRunning = Set<Int>()
        for (index, running) in inFlight where await Self.value(of: running, within: timeout) == nil { stillRunning.insert(index) }
        for (index, check) in checks.enumerated() where !stillRunning.contains(index) { await check.close() }
    }

    /// The task's value, or nil when it takes longer than `limit` (the task goes on).
    static func value(of task: Task<DependencyStatus, Never>, within limit: Duration) async -> DependencyStatus? {
        await withCheckedContinuation { continuation in
            let answer = FirstAnswer(continuation)
            Task { answer.resume(await task.value) }
            Task {
                try? await Task.sleep(for: limit)
                answer.resume(nil)
            }
        }
    }

    private func update(_ name: String, _ status: DependencyStatus, gauge: Gauge) {
        let previous = readiness.snapshot[name]
        readiness.set(name, ready: status.ready, detail: status.detail)
        gauge.record(status.ready ? 1 : 0)
        if previous?.ready != status.ready || previous == nil || previous?.detail == "not checked yet" {
            if status.ready { logger.info("dependency ready", metadata: ["dependency": .string(name)]) }
            else { logger.warning("dependency not ready: \(status.detail)", metadata: ["dependency": .string(name)]) }
        }
    }
}

/// Resumes a continuation with whichever answer comes first; later ones are ignored.
private final class FirstAnswer: Sendable {
    private let continuation: Mutex<CheckedContinuation<DependencyStatus?, Never>?>

    init(_ continuation: CheckedContinuation<DependencyStatus?, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ status: DependencyStatus?) {
        continuation.withLock { continuation in
            continuation?.resume(returning: status)
            continuation = nil
        }
    }
}
