import FXCore
import FXServiceChassis
import FXTestSupport
import Synchronization
import Testing

/// A dependency check that hangs (a black-holed server) must not hang readiness: it reports not ready
/// after the watch's timeout, and the same check's answer still counts when it finally comes.
@Suite("Dependency watch: checks have deadlines")
struct DependencyWatchTests {
    /// Answers only when the test opens its gate.
    final class HangingCheck: DependencyCheck {
        let name = "hanging"
        let gate = AsyncLatch<Void>()
        let started = Atomic<Int>(0)
        func check() async -> DependencyStatus {
            started.add(1, ordering: .relaxed)
            _ = try? await gate.wait()
            return DependencyStatus(ready: true, detail: "answered")
        }
        func close() async {}
    }

    @Test("a hanging check reports 'no answer' after the timeout, is not started again while it hangs, and its answer counts when it comes")
    func hangingCheck() async throws {
        let readiness = Readiness()
        let check = HangingCheck()
        let watch = DependencyWatch(checks: [check], readiness: readiness, interval: .milliseconds(50), timeout: .milliseconds(200),
                                    logger: TestEnvironment.logger("watch"))
        try await withServices([watch]) {
            let timedOut = try await TestEnvironment.eventually(timeout: .seconds(20)) {
                readiness.snapshot["hanging"]?.detail.hasPrefix("no answer within") == true
            }
            #expect(timedOut)
            #expect(!readiness.isReady)
            // Several ticks pass while it hangs: the same check is waited for, never a second one started.
            try await Task.sleep(for: .seconds(1))   // ~20 ticks of 50 ms
            #expect(check.started.load(ordering: .relaxed) == 1)
            _ = check.gate.open(())
            let answered = try await TestEnvironment.eventually(timeout: .seconds(20)) { readiness.isReady }
            #expect(answered)
            #expect(readiness.snapshot["hanging"]?.detail == "answered")
        }
    }
}
