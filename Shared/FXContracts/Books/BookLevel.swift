import FXCore

/// One price level of an order book: the price and the absolute quantity resting there, both exactly as the
/// venue wrote them (`"45285.20"` keeps its trailing zero: Kraken's checksum needs it). A quantity of zero
/// (`"0"`, `"0.00000000"`) in an update deletes the level.
public struct BookLevel: Sendable, Hashable, CustomStringConvertible {
    public var price: String
    public var quantity: String

    /// A level from text the caller has already checked (see ``validated(price:quantity:)``).
    public init(price: String, quantity: String) {
        self.price = price
        self.quantity = quantity
    }

    /// A level checked against the contract: the price a positive plain decimal, the quantity a
    /// non-negative plain decimal, both within ``ContractLimits`` (38 significant digits, scale 18).
    /// Returns the level and the price's numeric value (the book's key).
    public static func validated(price: String, quantity: String) throws(BookError) -> (level: BookLevel, key: DecimalText, isDeletion: Bool) {
        guard let key = DecimalText(price), key.isPositive else {
            throw BookError(.invalidLevel, "price '\(price.prefix(64))' is not a positive plain decimal")
        }
        guard let amount = DecimalText(quantity), !amount.isNegative else {
            throw BookError(.invalidLevel, "quantity '\(quantity.prefix(64))' at \(key) is not a non-negative plain decimal")
        }
        do throws(ContractLimits.Violation) {
            try ContractLimits.checkDecimal(key, field: "price")
            try ContractLimits.checkDecimal(amount, field: "quantity")
        } catch {
            throw BookError(.invalidLevel, error.detail)
        }
        return (BookLevel(price: price, quantity: quantity), key, amount.isZero)
    }

    public var description: String { "\(price)@\(quantity)" }
}
