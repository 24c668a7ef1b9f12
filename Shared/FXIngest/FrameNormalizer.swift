import FXCore

/// Turns one provider WebSocket frame into normalized events. Each provider implements one, in its own
/// folder under `Providers/`; nothing here may throw or crash on any input.
public protocol FrameNormalizer: Sendable {
    /// The provider id used as `source` (e.g. `coinbase`).
    var source: String { get }
    /// - Parameters:
    ///   - frame: the frame's bytes (text frames as UTF-8).
    ///   - receivedAt: receive time, nanoseconds since the epoch.
    func normalize(_ frame: [UInt8], receivedAt: Int64) -> [NormalizedEvent]
}

extension FrameNormalizer {
    /// Parses a frame, mapping parser failures to rejects.
    func parse(_ frame: [UInt8], parser: JSONParser) -> Result<JSONValue, Rejected> {
        do {
            return .success(try parser.parse(frame))
        } catch {
            let reason: RejectReason = switch error.code {
            case .invalidUTF8: .invalidUTF8
            case .tooLarge: .tooLarge
            case .tooDeep, .syntax: .malformedJSON
            }
            return .failure(Rejected(.reject(reason, detail: error.description)))
        }
    }
}

/// A reject carried through `Result`.
struct Rejected: Error {
    let event: NormalizedEvent
    init(_ event: NormalizedEvent) { self.event = event }
}
