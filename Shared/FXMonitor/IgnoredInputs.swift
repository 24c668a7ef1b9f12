import CoreMetrics
import FXMetrics
import Logging

/// Counts what the monitor ignored (``IgnoreReason``) in `fx_monitor_ignored_total{reason}` and logs it:
/// the 1st, 2nd, 4th, 8th, ... occurrence of each reason (a flood of bad messages cannot flood the log).
final class IgnoredInputs: Sendable {
    let counters: [IgnoreReason: EventCounter]
    let logger: Logger

    init(factory: any MetricsFactory, logger: Logger) {
        counters = Dictionary(uniqueKeysWithValues: IgnoreReason.allCases.map {
            ($0, EventCounter(label: "fx_monitor_ignored_total", dimensions: [("reason", $0.rawValue)], factory: factory))
        })
        self.logger = logger
    }

    /// Everything ignored so far.
    var total: Int64 { counters.values.reduce(0) { $0 + $1.value } }

    func count(_ reason: IgnoreReason) -> Int64 { counters[reason]?.value ?? 0 }

    func record(_ reason: IgnoreReason?, topic: String) {
        guard let reason, let counter = counters[reason] else { return }
        counter.increment()
        let count = counter.value
        guard count & (count - 1) == 0 else { return }
        logger.warning("message ignored: \(reason.rawValue)", metadata: ["topic": .string(topic), "reason": .string(reason.rawValue),
                                                                         "ignored_so_far": .stringConvertible(count)])
    }
}
