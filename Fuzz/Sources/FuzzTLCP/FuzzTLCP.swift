import FXCore
import FXVenues
import FuzzSupport

// Lightstreamer TLCP server lines -> TLCPSession, as the IG connection drives it. Input: lines separated
// by NUL LF; an empty line = the socket drops (the session recovers on a new one). Invariants:
// - nothing crashes or traps on any line;
// - every update carries exactly its subscription's field count, for a known subscription and item >= 1;
// - `OV` losses are non-negative counts of a known subscription;
// - the notification count never goes negative, and a recovery bind asks from the count received;
// - every request sent is `wsok` or `<name>\r\n<k=v&...>` with no raw CR/LF inside the parameters.

private let subscriptions = [
    TLCPSession.Subscription(id: 1, mode: "DISTINCT", items: ["CHART:CS.D.EURUSD.CFD.IP:TICK"], fields: ["BID", "OFR", "LTP", "LTV", "TTV", "UTM"], snapshot: false),
    TLCPSession.Subscription(id: 2, mode: "MERGE", items: ["MARKET:CS.D.EURUSD.CFD.IP", "MARKET:CS.D.USDJPY.CFD.IP"], fields: ["MARKET_STATE", "UPDATE_TIME"], snapshot: true),
]

private func check(_ actions: [TLCPSession.Action], _ session: TLCPSession) {
    require(session.count >= 0, "count \(session.count)")
    for action in actions {
        switch action {
        case .send(let text):
            if text == "wsok" { continue }
            let parts = text.split(separator: "\r\n", maxSplits: 1, omittingEmptySubsequences: false)
            require(parts.count == 2 && !parts[1].contains("\r") && !parts[1].contains("\n"), "request \(text.debugDescription)")
            if parts[0] == "bind_session", let recovery = parts[1].split(separator: "&").first(where: { $0.hasPrefix("LS_recovery_from=") }) {
                require(Int(recovery.dropFirst("LS_recovery_from=".count)) == session.count, "recovery from \(recovery) with count \(session.count)")
            }
        case .update(let subscription, let item, let values):
            let known = subscriptions.first { $0.id == subscription }
            require(known != nil && item >= 1 && values.count == known!.fields.count, "update \(subscription),\(item) of \(values.count) values")
        case .lost(let subscription, _, let count):
            require(count >= 0 || !subscriptions.contains { $0.id == subscription }, "OV \(subscription) \(count)")
        case .reconnect, .sessionReplaced, .recovered, .problem, .fatal:
            break
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    var session = TLCPSession(user: "ABC", password: "CST-a|XST-b", adapterSet: nil, subscriptions: subscriptions)
    check(session.opened(), session)
    for line in splitMessages(bytes[...], limit: 256) {
        if line.isEmpty {
            let actions = session.socketLost("fuzz drop")
            check(actions, session)
            if actions.contains(where: { if case .reconnect = $0 { true } else { false } }) { check(session.opened(), session) }
            continue
        }
        let text = String(decoding: line, as: UTF8.self)
        let actions = session.received(Substring(text))
        check(actions, session)
        if actions.contains(where: { if case .reconnect = $0 { true } else { false } }) { check(session.opened(), session) }
    }
    return 0
}
