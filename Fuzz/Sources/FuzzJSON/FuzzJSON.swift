import FXContracts
import FXCore
import FuzzSupport

// Differential: JSONScanner (walks members, no tree) against JSONParser (builds a JSONValue).
// - same accept/reject: a document the parser accepts as an object the scanner accepts; any other
//   document (rejected, or a non-object top level) the scanner rejects;
// - same values: the tree rebuilt from the scanner's tokens equals the parser's;
// - the scanner's typed readers agree with JSONValue's: int64, decimal (numbers and plain strings).

/// Rebuilds a JSONValue from scanner tokens, checking the readers against each other on the way.
private func value(_ token: JSONScanner.Token, _ scanner: JSONScanner) throws(JSONParser.Error) -> JSONValue {
    switch token.kind {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .number:
        let literal = String(decoding: scanner.bytes[token.range], as: UTF8.self)
        require(scanner.text(token) == literal, "text(number) \(String(describing: scanner.text(token))) != \(literal)")
        let parsed = JSONValue.number(literal)
        require(scanner.int64(token) == parsed.int64Value,
                "int64 differs for \(literal): scanner \(String(describing: scanner.int64(token))) parser \(String(describing: parsed.int64Value))")
        require(scanner.decimal(token) == parsed.decimal, "decimal differs for number \(literal)")
        return parsed
    case .string(let escaped):
        guard let text = scanner.string(token) else {
            require(false, "scanner accepted a string it cannot decode: \(preview(Array(scanner.bytes[token.range])))")
            return .null
        }
        require(scanner.text(token) == text, "text(string) differs from string()")
        if !escaped {
            // Plain strings: DecimalText(bytes:) (scanner) against DecimalText(String) (JSONValue).
            require(scanner.decimal(token) == JSONValue.string(text).decimal, "decimal differs for string \(text.debugDescription)")
        } else {
            require(scanner.decimal(token) == nil, "decimal of an escaped string")
        }
        return .string(text)
    case .object:
        var members: [String: JSONValue] = [:]
        try scanner.forEachMember(of: token) { (name: Range<Int>, member: JSONScanner.Token) throws(JSONParser.Error) in
            members[memberName(name, scanner)] = try value(member, scanner)
        }
        return .object(members)
    case .array:
        var elements: [JSONValue] = []
        try scanner.forEachElement(of: token) { (element: JSONScanner.Token) throws(JSONParser.Error) in
            elements.append(try value(element, scanner))
        }
        return .array(elements)
    }
}

/// A member name's text (the scanner hands names as ranges inside the quotes).
private func memberName(_ range: Range<Int>, _ scanner: JSONScanner) -> String {
    let quoted = [UInt8(ascii: "\"")] + scanner.bytes[range] + [UInt8(ascii: "\"")]
    guard let name = (try? JSONParser().parse(quoted))?.stringValue else {
        require(false, "scanner accepted a member name the parser rejects: \(preview(quoted))")
        return ""
    }
    return name
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    let parsed: Result<JSONValue, JSONParser.Error>
    do { parsed = .success(try JSONParser().parse(bytes)) } catch { parsed = .failure(error) }

    let scanner = JSONScanner(bytes)
    var members: [String: JSONValue] = [:]
    let scanned: Result<JSONValue, JSONParser.Error>
    do {
        try scanner.forEachMember { (name: Range<Int>, member: JSONScanner.Token) throws(JSONParser.Error) in
            members[memberName(name, scanner)] = try value(member, scanner)
        }
        scanned = .success(.object(members))
    } catch {
        scanned = .failure(error)
    }

    switch (parsed, scanned) {
    case (.success(let tree), .success(let rebuilt)):
        require(tree == rebuilt, "values differ for \(preview(bytes)): parser \(tree) scanner \(rebuilt)")
    case (.success(let tree), .failure(let error)):
        if case .object = tree {
            require(false, "parser accepts, scanner rejects (\(error)) \(preview(bytes))")
        }
    case (.failure(let error), .success):
        require(false, "parser rejects (\(error)), scanner accepts \(preview(bytes))")
    case (.failure, .failure):
        break
    }
    return 0
}
