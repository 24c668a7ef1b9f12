import FXCore

extension JSONValue {
    /// The member `name` as `read` makes it, or a ``ContractError`` saying `<message>: missing or invalid
    /// '<name>'` (the one wording of every topic reader).
    func contractField<T>(_ name: String, in message: String, _ read: (JSONValue) -> T?) throws(ContractError) -> T {
        guard let member = self[name], let result = read(member) else {
            throw ContractError(message: "\(message): missing or invalid '\(name)'")
        }
        return result
    }
}
