import FXCore

/// Turns one provider WebSocket frame into normalized events. Each provider implements one, in its own
/// folder of FXVenues; nothing here may throw or crash on any input.
public protocol FrameNormalizer: Sendable {
    /// The provider id used as `source` (e.g. `coinbase`).
    var source: String { get }
    /// - Parameters:
    ///   - frame: the frame's bytes (text frames as UTF-8).
    ///   - receivedAt: receive time, nanoseconds since the epoch.
    func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent]
}

extension FrameNormalizer {
    /// The reject for a frame the JSON reader refused.
    static func reject(for error: JSONParser.Error) -> NormalizedEvent {
        let reason: RejectReason = switch error.code {
        case .invalidUTF8: .invalidUTF8
        case .tooLarge: .tooLarge
        case .tooDeep, .syntax: .malformedJSON
        }
        return .reject(reason, detail: error.description)
    }

    /// The reject for a frame over the size cap (checked before any parsing).
    static func oversized(_ count: Int, limit: Int) -> NormalizedEvent {
        .reject(.tooLarge, detail: "frame of \(count) bytes exceeds \(limit)")
    }
}

/// A reject carried through `Result`.
struct Rejected: Error {
    let event: NormalizedEvent
    init(_ event: NormalizedEvent) { self.event = event }
}
