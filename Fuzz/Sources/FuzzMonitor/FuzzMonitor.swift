import FXContracts
import FXCore
import FXVenues
import FXMonitor
import FuzzSupport
#if canImport(Glibc)
import Glibc
#endif

// The monitor's reading of each topic: MonitorService.apply's per-topic reading (repeated here:
// MonitorService imports Hummingbird, Kafka, PostgreSQL and metrics) driving the real StreamBoard and
// PipelineBook (symlinked), then StreamBoard.evaluate and PipelineBook.prune. Left out: LatencyBook and
// the heartbeat's `latency` buckets (they need hdrhistogram-swift), the ignored-input counters and logs.
//
// Input: messages separated by NUL LF; each message's first byte picks the topic (ticks, gaps, health,
// rejects, candles), the rest is the message. Invariants: no trap on any message; the board and book
// stay within their caps; every evaluation's transitions name streams the board knows.

private let topics = ["fx.ticks", "fx.gaps", "fx.health", "fx.rejects", "fx.candles"]
/// 2026-11-23T12:00:00Z, ns (monitor clock and wall clock).
private let baseNow: Int64 = 1_795_435_200_000_000_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    var settings = StreamBoard.Settings()
    settings.maxStreams = 8
    settings.maxInstances = 4
    var board = StreamBoard(settings: settings)
    var pipeline = PipelineBook(maxSources: 4, maxInstances: 4)
    var now = baseNow
    for message in splitMessages(bytes[...]) {
        guard let selector = message.first else { continue }
        let topic = topics[Int(selector) % topics.count]
        let value = Array(message.dropFirst())
        now += Int64(selector >> 3) * 1_000_000_000
        apply(topic: topic, value: value, now: now, board: &board, pipeline: &pipeline)
        require(board.streamCount <= settings.maxStreams && board.instanceCount <= settings.maxInstances, "board over its caps")
        require(pipeline.instanceCount <= 4, "pipeline over its instance cap")
        for kind in PipelineBook.Kind.allCases {
            require(pipeline.sources(kind).count <= 4, "pipeline over its source cap for \(kind)")
            for source in pipeline.sources(kind) {
                let rate = pipeline.rate(kind, source: source, now: now)
                require(rate.lastMinute >= 0 && rate.total >= 0 && rate.lastMinute <= rate.total, "rate \(rate) for \(kind) \(source)")
            }
        }
    }
    for step in [0, 60, 3_600, 80 * 3_600] as [Int64] {
        let evaluation = board.evaluate(now: now + step * 1_000_000_000)
        _ = evaluation
        pipeline.prune(now: now + step * 1_000_000_000)
        _ = board.gapsLastHour(now: now + step * 1_000_000_000)
    }
    return 0
}

/// MonitorService.apply without metrics, logs and the latency book.
private func apply(topic: String, value: [UInt8], now: Int64, board: inout StreamBoard, pipeline: inout PipelineBook) {
    guard let message = try? JSONParser().parse(value) else { return }
    switch topic {
    case "fx.ticks":
        guard let source = message["source"]?.stringValue, let symbol = message["symbol"]?.stringValue,
              let ts = message["ts"]?.int64Value else { return }
        let received = message["recv_ts"]?.int64Value
        guard ContractLimits.isPlausibleEventTime(ts), received.map(ContractLimits.isPlausibleEventTime) ?? true else { return }
        if board.tick(source: source, symbol: symbol, venueSymbol: message["venue_symbol"]?.stringValue ?? symbol, eventTs: ts, now: now) != nil { return }
        _ = pipeline.count(.ticks, source: source, now: now)
        if let received { _ = received - ts }  // the latency book's input: both in the window, no overflow
    case "fx.gaps":
        guard let gap = try? GapEvent(json: value) else { return }
        if board.gap(gap, now: now) != nil { return }
        if gap.reason != .bootstrap { _ = pipeline.count(.gaps, source: gap.source, now: now) }
    case "fx.health":
        // The heartbeat decoder of the contracts, then both books (as MonitorService.apply).
        guard let beat = Heartbeat.read(message, receivedAt: now).heartbeat else { return }
        if board.heartbeat(beat, now: now) != nil { return }
        _ = pipeline.heartbeat(beat, now: now)
    case "fx.rejects":
        _ = pipeline.count(.rejects, source: message["source"]?.stringValue ?? "unknown", now: now)
    default:
        _ = pipeline.count(.candles, source: message["source"]?.stringValue ?? "unknown", now: now)
    }
}
