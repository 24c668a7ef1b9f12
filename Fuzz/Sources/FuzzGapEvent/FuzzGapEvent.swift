import FXContracts
import FXCore
import FuzzSupport

// `<prefix>gaps` messages -> GapEvent(json:) (the backfiller's and the monitor's reader), and the pure
// window arithmetic the gap ledger applies to an accepted event. GapLedger itself cannot be compiled
// here (it is built on FXPostgres/libpq, and its merge runs in SQL): its pure guard `GapLedger.check`
// is the two ContractLimits calls below, and its Swift-side arithmetic (the adjacency widening, the
// bootstrap minute and lookback window) is repeated with the ledger's constants.
//
// Invariants for an accepted event: from <= to; names and texts within the contract (`venue_symbol` may be
// empty: unknown to the emitter, e.g. a retention gap); times within the
// consumers' window; `jsonBytes()` reads back equal; the ledger's arithmetic stays inside Int64 and
// keeps from <= to.

/// GapLedger.adjacency (one minute, ns).
private let adjacency: Int64 = 60_000_000_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let event = try? GapEvent(json: bytes) else { return 0 }
    require(event.from <= event.to, "from \(event.from) > to \(event.to)")
    require(ContractLimits.isValidSource(event.source) && ContractLimits.isValidSymbol(event.symbol)
            && (event.venueSymbol.isEmpty || ContractLimits.isValidVenueSymbol(event.venueSymbol)), "names \(event)")
    require(event.detail.utf8.count <= GapEvent.maxDetailBytes && event.instance.utf8.count <= ContractLimits.maxInstanceBytes, "texts \(event)")
    // GapLedger.check: what the ledger refuses, the decoder must already have refused.
    do throws(ContractLimits.Violation) {
        try ContractLimits.checkEventTime(event.from, field: "from_ts")
        try ContractLimits.checkEventTime(event.to, field: "to_ts")
        try ContractLimits.checkEventTime(event.detectedAt, field: "detected_ts")
    } catch {
        require(false, "decoder accepted what the ledger refuses: \(error)")
    }
    // Round trip (the backfiller re-publishes nothing, but the monitor and tests rely on it).
    let again = try? GapEvent(json: event.jsonBytes())
    require(again == event, "round trip \(event) -> \(String(describing: again))")
    // The ledger's window arithmetic: the merge's widened bounds (SQL bigint: must not overflow).
    let (low, o1) = event.from.subtractingReportingOverflow(adjacency)
    let (high, o2) = event.to.addingReportingOverflow(adjacency)
    require(!o1 && !o2 && low <= high, "adjacency widening overflows: \(event.from) \(event.to)")
    // recordBootstrap: the event's minute, and the lookback window before it (1 h and 30 days).
    let minute = event.to / 60_000_000_000 * 60_000_000_000
    require(minute <= event.to && event.to - minute < 60_000_000_000, "minute of \(event.to)")
    for lookback in [Duration.seconds(3_600), .seconds(30 * 86_400), .seconds(Int64.max)] {
        let from = max(ContractLimits.earliestEventTime, minute.subtractingClamped(lookback.nanosecondsClamped))
        require(from <= minute, "bootstrap window \(from) ... \(minute)")
    }
    // The summary's minute count of one gap (`to_ts / 60e9 - from_ts / 60e9 + 1`).
    let minutes = event.to / 60_000_000_000 - event.from / 60_000_000_000 + 1
    require(minutes >= 1, "minutes \(minutes)")
    return 0
}
