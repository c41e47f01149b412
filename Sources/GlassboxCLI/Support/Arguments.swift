/// The arguments of one subcommand, consumed as they are read.
///
/// A tiny parser on purpose (no package dependencies): options are `--name VALUE` or `--name=VALUE`,
/// flags are `--name`, everything else is positional. `finish()` rejects anything left over, so a
/// typo is a usage error instead of being ignored.
public struct Arguments {
    private var items: [String]
    private var consumed: [Bool]

    public init(_ items: [String]) {
        self.items = items
        self.consumed = [Bool](repeating: false, count: items.count)
    }

    /// True when `--help` or `-h` was given.
    public var wantsHelp: Bool { items.contains("--help") || items.contains("-h") }

    /// Consumes a boolean flag such as `--json`.
    public mutating func flag(_ name: String) -> Bool {
        var found = false
        for (position, item) in items.enumerated() where !consumed[position] && item == name {
            consumed[position] = true
            found = true
        }
        return found
    }

    /// Consumes `--name VALUE` or `--name=VALUE`; the last occurrence wins.
    public mutating func option(_ name: String) throws -> String? {
        try takeAll(name).last
    }

    /// Consumes every occurrence of a repeatable option, in order, also splitting comma-separated values.
    public mutating func options(_ name: String) throws -> [String] {
        try takeAll(name).flatMap { $0.split(separator: ",").map(String.init) }
    }

    /// Consumes every `--name VALUE` and `--name=VALUE`, returning the values in order.
    private mutating func takeAll(_ name: String) throws -> [String] {
        var values: [String] = []
        var position = 0
        while position < items.count {
            defer { position += 1 }
            guard !consumed[position] else { continue }
            let item = items[position]
            if item == name {
                guard position + 1 < items.count else { throw CLIError.usage("\(name) needs a value") }
                consumed[position] = true
                consumed[position + 1] = true
                values.append(items[position + 1])
                position += 1
            } else if item.hasPrefix(name + "=") {
                consumed[position] = true
                values.append(String(item.dropFirst(name.count + 1)))
            }
        }
        return values
    }

    /// Consumes an integer option, with a range check.
    public mutating func int(_ name: String, default fallback: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        try int(name, range: range) ?? fallback
    }

    /// Consumes an integer option, with a range check; nil when absent (for options whose mere
    /// presence matters, such as one that conflicts with another flag).
    public mutating func int(_ name: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let text = try option(name) else { return nil }
        guard let value = Int(text) else { throw CLIError.usage("\(name) expects an integer, got '\(text)'") }
        if let range, !range.contains(value) {
            throw CLIError.usage("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        return value
    }

    /// Consumes a floating-point option, with a range check.
    public mutating func double(_ name: String, default fallback: Double, range: ClosedRange<Double>? = nil) throws -> Double {
        guard let text = try option(name) else { return fallback }
        guard let value = Double(text), value.isFinite else { throw CLIError.usage("\(name) expects a number, got '\(text)'") }
        if let range, !range.contains(value) {
            throw CLIError.usage("\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        return value
    }

    /// The first argument not starting with `-`, without consuming it (to pick a sub-mode before
    /// its options are read). Call `positionals()` only after every option was consumed: until
    /// then an option's value looks like a positional.
    public var firstPositional: String? {
        items.indices.first { !consumed[$0] && !items[$0].hasPrefix("-") }.map { items[$0] }
    }

    /// Consumes and returns all remaining positional arguments (those not starting with `--`).
    public mutating func positionals() -> [String] {
        var values: [String] = []
        var afterSeparator = false
        for position in items.indices where !consumed[position] {
            let item = items[position]
            if item == "--" && !afterSeparator { afterSeparator = true; consumed[position] = true; continue }
            if afterSeparator || !item.hasPrefix("-") || item == "-" {
                consumed[position] = true
                values.append(item)
            }
        }
        return values
    }

    /// Consumes and returns everything not yet consumed, in order (for delegating to a sub-parser).
    public mutating func rest() -> [String] {
        let values = items.indices.filter { !consumed[$0] }.map { items[$0] }
        consumed = consumed.map { _ in true }
        return values
    }

    /// Throws a usage error naming anything that was not consumed.
    public func finish() throws {
        let leftover = items.indices.filter { !consumed[$0] }.map { items[$0] }
        if !leftover.isEmpty {
            throw CLIError.usage("unknown argument\(leftover.count > 1 ? "s" : ""): \(leftover.joined(separator: " "))")
        }
    }
}
