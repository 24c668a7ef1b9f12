import FXContracts
import FXCore

/// Turns ticks that never reached Kafka (delivery failed, or dropped under overload) into `delivery` gap
/// events: one per symbol, covering the event times of its lost ticks.
enum DeliveryGaps {
    static func make(lost items: [PublishItem], detail: String, instance: String, now: Int64) -> [GapEvent] {
        struct Window { var venue: String; var from: Int64; var to: Int64; var count: Int }
        var windows: [String: Window] = [:]
        var order: [String] = []
        for item in items {
            guard case .tick(let source, let symbol, let venue, let ts) = item.kind else { continue }
            let key = source + "\u{0}" + symbol
            if var window = windows[key] {
                window.from = min(window.from, ts)
                window.to = max(window.to, ts)
                window.count += 1
                windows[key] = window
            } else {
                windows[key] = Window(venue: venue, from: ts, to: ts, count: 1)
                order.append(key)
            }
        }
        return order.compactMap { key in
            guard let window = windows[key] else { return nil }
            let parts = key.split(separator: "\u{0}", maxSplits: 1).map(String.init)
            return GapEvent(source: parts[0], symbol: parts[1], venueSymbol: window.venue, from: window.from, to: window.to,
                            reason: .delivery, detectedAt: now, detail: "\(window.count) tick(s) not delivered: \(detail)",
                            instance: instance)
        }
    }
}
