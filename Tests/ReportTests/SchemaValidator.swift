import Foundation

/// A JSON value that keeps booleans and numbers apart (JSONSerialization on Linux does not).
indirect enum JSON: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSON].self)) }
    }

    subscript(key: String) -> JSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }
}

/// A validator for the subset of JSON Schema (2020-12) that `docs/explanation.schema.json` uses:
/// `type`, `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `const`,
/// `minimum`, `maximum`, `pattern` and local `$ref`s into `$defs`. Returns every violation with
/// its JSON path, so a failing test says what is wrong.
struct SchemaValidator {
    let root: JSON

    init(schemaData: Data) throws {
        root = try JSONDecoder().decode(JSON.self, from: schemaData)
    }

    func validate(_ data: Data) throws -> [String] {
        var errors: [String] = []
        check(try JSONDecoder().decode(JSON.self, from: data), against: root, path: "$", errors: &errors)
        return errors
    }

    private func resolve(_ schema: JSON) -> JSON {
        guard case .string(let reference)? = schema["$ref"] else { return schema }
        precondition(reference.hasPrefix("#/$defs/"), "only local $defs references are supported")
        return resolve(root["$defs"]![String(reference.dropFirst("#/$defs/".count))]!)
    }

    private func check(_ value: JSON, against rawSchema: JSON, path: String, errors: inout [String]) {
        let schema = resolve(rawSchema)
        if case .string(let type)? = schema["type"], !matches(value, type: type) {
            errors.append("\(path): expected \(type), got \(value)")
            return
        }
        if let constant = schema["const"], constant != value { errors.append("\(path): expected \(constant)") }
        if case .array(let options)? = schema["enum"], !options.contains(value) { errors.append("\(path): \(value) not in enum") }
        if case .number(let number) = value {
            if case .number(let minimum)? = schema["minimum"], number < minimum { errors.append("\(path): \(number) < \(minimum)") }
            if case .number(let maximum)? = schema["maximum"], number > maximum { errors.append("\(path): \(number) > \(maximum)") }
        }
        if case .string(let pattern)? = schema["pattern"], case .string(let text) = value,
           text.range(of: pattern, options: .regularExpression) == nil {
            errors.append("\(path): '\(text)' does not match \(pattern)")
        }
        if case .object(let members) = value {
            var properties: [String: JSON] = [:]
            if case .object(let declared)? = schema["properties"] { properties = declared }
            if case .array(let required)? = schema["required"] {
                for case .string(let key) in required where members[key] == nil { errors.append("\(path): missing required '\(key)'") }
            }
            for (key, member) in members {
                if let propertySchema = properties[key] {
                    check(member, against: propertySchema, path: "\(path).\(key)", errors: &errors)
                } else if schema["additionalProperties"] == .bool(false) {
                    errors.append("\(path): unexpected member '\(key)'")
                }
            }
        }
        if case .array(let elements) = value, let items = schema["items"] {
            for (index, element) in elements.enumerated() { check(element, against: items, path: "\(path)[\(index)]", errors: &errors) }
        }
    }

    private func matches(_ value: JSON, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null), ("number", .number):
            return true
        case ("integer", .number(let number)):
            return number == number.rounded()
        default:
            return false
        }
    }
}
