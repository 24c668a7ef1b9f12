import FXCore

/// The monitor's clock for silences (ns): the wall clock read once at start, advanced by the monotonic
/// `ContinuousClock` since. A step of the wall clock (NTP correcting a wrong clock, an operator setting
/// it) neither makes a live feed look silent nor hides a dead one; readings never go backwards. What the
/// monitor shows as times (`since`, `last_seen_ts`) stays close to wall time; market hours and event
/// times (`recv_ts - ts`) are read from the wall clock itself.
public struct MonitorClock: Sendable {
    let startWall: Int64
    let start: ContinuousClock.Instant

    public init(wall: Int64 = WallClock.nanoseconds(), start: ContinuousClock.Instant = .now) {
        self.startWall = wall
        self.start = start
    }

    /// Now on this clock (ns).
    public func now(at instant: ContinuousClock.Instant = .now) -> Int64 {
        startWall.addingClamped((instant - start).nanosecondsClamped)
    }
}
