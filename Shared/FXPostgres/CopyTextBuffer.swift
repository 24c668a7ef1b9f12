import FXCore

/// Rows in COPY text format, written field by field, for a caller that prepares a COPY's data before it
/// holds the connection (``PostgresSession/copyIn(_:data:)`` then only sends it). Fields are escaped like
/// ``PostgresSession/copyIn(_:rows:)``'s; integers are written as digits without building a `String`.
public struct CopyTextBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Rows ended so far.
    public private(set) var rows = 0
    private var rowStarted = false

    public init(reservingCapacity capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    /// Appends a text field (nil is NULL).
    public mutating func append(_ value: String?) {
        separate()
        CopyTextEncoder.appendField(value, to: &bytes)
    }

    /// Appends an integer field (nil is NULL).
    public mutating func append(_ value: Int64?) {
        separate()
        guard let value else { return CopyTextEncoder.appendField(nil, to: &bytes) }
        bytes.appendDecimal(value)
    }

    /// Appends a whole row of text fields (nil is NULL) and ends it.
    public mutating func appendRow(_ row: [String?]) {
        for value in row { append(value) }
        endRow()
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(UInt8(ascii: "\n"))
        rows += 1
        rowStarted = false
    }

    private mutating func separate() {
        if rowStarted { bytes.append(UInt8(ascii: "\t")) }
        rowStarted = true
    }
}
