extension ValueReader where Value == Bool {
    /// `1/0`, `true/false`, `yes/no`, `on/off`, in any case. In YAML, unquoted.
    public static var bool: ValueReader<Bool> {
        ValueReader(allowed: "1/0, true/false, yes/no, on/off (any case)",
                    text: { (text: String) throws(ConfigValueError) -> Bool in
                        switch text.lowercased() {
                        case "1", "true", "yes", "on": return true
                        case "0", "false", "no", "off": return false
                        default: throw ConfigValueError("'\(text)' is not a boolean")
                        }
                    },
                    file: { (value: ConfigFileValue) throws(ConfigValueError) -> Bool in
                        guard case .scalar(let text, let type, false) = value.content, type == "bool" || type == "int" else {
                            throw ConfigValueError("expected a boolean, found \(value.kindDescription)")
                        }
                        return try ValueReader.bool.parse(text)
                    })
    }
}

extension ValueReader where Value == Int {
    /// A whole number within `range`; overflow and values outside the range are refused by name.
    /// In YAML, an unquoted integer.
    public static func int(_ range: ClosedRange<Int>) -> ValueReader<Int> {
        let allowed = Self.describe(range)
        return ValueReader(allowed: allowed,
                           text: { (text: String) throws(ConfigValueError) -> Int in try parseInt(text, range) },
                           file: { (value: ConfigFileValue) throws(ConfigValueError) -> Int in
                               guard case .scalar(let text, "int", false) = value.content else {
                                   throw ConfigValueError("expected an integer, found \(value.kindDescription)")
                               }
                               return try parseInt(text, range)
                           })
    }

    static func parseInt(_ text: String, _ range: ClosedRange<Int>) throws(ConfigValueError) -> Int {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw ConfigValueError("'\(text)' is not a whole number")
        }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigValueError("\(text) is out of range")
        }
        return value
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (Int.min, Int.max): return "a whole number"
        case (let low, Int.max): return "a whole number >= \(low)"
        default: return "a whole number from \(range.lowerBound) to \(range.upperBound)"
        }
    }
}

extension ValueReader where Value == Int32 {
    public static func int32(_ range: ClosedRange<Int32>) -> ValueReader<Int32> {
        let base = ValueReader<Int>.int(Int(range.lowerBound)...Int(range.upperBound))
        return ValueReader(allowed: base.allowed,
                           text: { (text: String) throws(ConfigValueError) -> Int32 in Int32(try base.parse(text)) },
                           file: { (value: ConfigFileValue) throws(ConfigValueError) -> Int32 in Int32(try base.parse(value)) })
    }
}

extension ValueReader where Value == String {
    /// Any text; `nonEmpty` refuses an empty one.
    public static func string(nonEmpty: Bool = true) -> ValueReader<String> {
        ValueReader(allowed: nonEmpty ? "a non-empty string" : "a string",
                    text: { (text: String) throws(ConfigValueError) -> String in
                        if nonEmpty, text.isEmpty { throw ConfigValueError("must not be empty") }
                        return text
                    })
    }

    /// An `http://` or `https://` URL; a trailing `/` is dropped.
    public static var httpURL: ValueReader<String> {
        ValueReader(allowed: "an http(s) URL", text: { (text: String) throws(ConfigValueError) -> String in
            guard text.hasPrefix("http://") || text.hasPrefix("https://") else { throw ConfigValueError("'\(text)' is not an http(s) URL") }
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        })
    }

    /// One of `choices` (compared lower-cased; the value is returned lower-cased).
    public static func choice(_ choices: [String]) -> ValueReader<String> {
        ValueReader(allowed: choices.joined(separator: ", "),
                    text: { (text: String) throws(ConfigValueError) -> String in
                        guard choices.contains(text.lowercased()) else { throw ConfigValueError("'\(text)' is not one of the choices") }
                        return text.lowercased()
                    })
    }
}

extension ValueReader where Value == [String] {
    /// A comma-separated list (flags, environment) or a YAML list of scalars; empty items dropped.
    public static var list: ValueReader<[String]> {
        ValueReader(allowed: "a comma-separated list",
                    text: { (text: String) throws(ConfigValueError) -> [String] in
                        text.split(separator: ",").map { trimmedConfigText($0) }.filter { !$0.isEmpty }
                    },
                    file: { (value: ConfigFileValue) throws(ConfigValueError) -> [String] in
                        switch value.content {
                        case .scalar(let text, _, _): return try ValueReader.list.parse(text)
                        case .sequence(let items):
                            var result: [String] = []
                            for item in items {
                                guard let text = item.scalarText else { throw ConfigValueError("expected a list of values, found a nested \(item.kindDescription)") }
                                result.append(text)
                            }
                            return result
                        case .mapping: throw ConfigValueError("expected a list, found a mapping")
                        }
                    },
                    format: { $0.joined(separator: ",") })
    }
}
