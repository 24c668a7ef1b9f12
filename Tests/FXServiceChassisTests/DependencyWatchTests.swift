import FXServiceChassis
import FXTestSupport
import Synchronization
import Testing

/// A dependency check that hangs (a black-holed server) must not hang readiness: it reports not ready
/// after the watch's timeout, and the same check's answer still counts when it finally comes.
@Suite("Dependency watch: checks have deadlines")
struct DependencyWatchTests {
    final class SlowCheck: DependencyCheck {
        let name = "slow"
        let delay: Duration
        let started = Atomic<Int>(0)
        init(delay: Duration) { self.delay = delay }
        func check() async -> DependencyStatus {
            started.add(1, ordering: .relaxed)
            try? await Task.sleep(for: delay)
            return DependencyStatus(ready: true, detail: "answered")
        }
        func close() async {}
    }

    @Test("a check slower than the timeout reports 'no answer' at once, is not started twice, and its answer counts when it comes")
    func slowCheck() async throws {
        let readiness = Readiness()
        let check = SlowCheck(delay: .seconds(2))
        let watch = DependencyWatch(checks: [check], readiness: readiness, interval: .milliseconds(100), timeout: .milliseconds(300),
                                    logger: TestEnvironment.logger("watch"))
        try await withServices([watch]) {
            let timedOut = try await TestEnvironment.eventually(timeout: .seconds(1)) {
                readiness.snapshot["slow"]?.detail.hasPrefix("no answer within") == true
            }
            #expect(timedOut)
            #expect(!readiness.isReady)
            let answered = try await TestEnvironment.eventually(timeout: .seconds(5)) { readiness.isReady }
            #expect(answered)
            #expect(check.started.load(ordering: .relaxed) <= 2, "the hanging check was waited for again, not restarted on every tick")
        }
    }
}
