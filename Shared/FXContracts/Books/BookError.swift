/// Why an order book update or a books-topic message could not be used.
public struct BookError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A price or quantity that is not an exact decimal in range (a reject: `invalid_decimal`).
        case invalidLevel = "invalid_level"
        /// A message that breaks the books contract (chunks out of order, a delta inside a snapshot).
        case contract = "book_contract"
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }
}
