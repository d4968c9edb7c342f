/// The header dict of a `.npy` file, read as numpy reads it: numpy evaluates the header
/// text with `ast.literal_eval` and then requires a dict with exactly the keys 'descr',
/// 'fortran_order' and 'shape', a bool 'fortran_order', a tuple of ints 'shape', and a
/// 'descr' that `numpy.dtype` accepts. So any Python literal spelling is valid (either
/// quote, string prefixes, adjacent strings, escapes, whitespace of any kind and comments
/// between tokens, a key given twice: the last wins), and anything else after the dict but
/// whitespace (the padding) is an error, as are keys missing or extra.
enum NpyHeader {
    /// A Python literal value.
    indirect enum Value {
        case string(String)
        case bytes
        case integer(Int)
        /// An integer too large for Int.
        case hugeInteger
        case bool(Bool)
        case none
        case float
        case tuple([Value])
        case list([Value])
        case set
        case dict([(Value, Value)])

        /// The value as a dimension of 'shape': an int. (A bool passes numpy's
        /// `isinstance(x, int)`, but numpy then refuses it when it makes the array: "an
        /// integer is required"; until 0.12.6 True was read as 1.)
        var asInteger: Int? {
            switch self {
            case .integer(let n): return n
            default: return nil
            }
        }
    }

    struct Failure: Error { let message: String }

    /// The dict's three values: descr as written (a string, or nil for a structured or
    /// sub-array descr), fortran_order and shape.
    static func parse(_ bytes: [UInt8], utf8: Bool) throws(MiniBatchError) -> (descr: String?, fortran: Bool, shape: [Int]) {
        func bad(_ what: String) -> MiniBatchError { MiniBatchError(.format, what) }
        // Format 3.0 headers are UTF-8; 1.0 and 2.0 latin-1 (every byte is a character).
        let scalars: [Unicode.Scalar]
        if utf8 {
            var decoded: [Unicode.Scalar] = []
            var decoder = UTF8()
            var iterator = bytes.makeIterator()
            loop: while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let s): decoded.append(s)
                case .emptyInput: break loop
                case .error: throw bad("the header is not valid UTF-8")
                }
            }
            scalars = decoded
        } else {
            scalars = bytes.map { Unicode.Scalar($0) }
        }
        guard !scalars.contains("\0") else { throw bad("the header holds a NUL byte") }
        var parser = Parser(text: scalars, pythonTwoLongs: !utf8)
        let value: Value
        do {
            parser.skipLeadingBlanks()
            value = try parser.value()
            parser.skipSpace()
            guard parser.atEnd else { throw Failure(message: "text after the header dict: '\(parser.rest(20))'") }
        } catch let failure as Failure {
            throw bad("the header is not a Python literal as numpy reads it: \(failure.message)")
        } catch {
            throw bad("the header cannot be read")
        }
        guard case .dict(let pairs) = value else { throw bad("the header is not a dict") }
        var fields: [String: Value] = [:]
        var order: [String] = []
        for (key, item) in pairs {
            guard case .string(let name) = key else { throw bad("the header has a key that is not a string") }
            if fields[name] == nil { order.append(name) }
            fields[name] = item  // a key given twice: the last value wins, as in Python
        }
        let expected = ["descr", "fortran_order", "shape"]
        guard Set(order) == Set(expected) else {
            throw bad("the header's keys are \(order.sorted()), not \(expected)")
        }
        guard case .bool(let fortran) = fields["fortran_order"]! else {
            throw bad("'fortran_order' is not True or False")
        }
        guard case .tuple(let dims) = fields["shape"]! else { throw bad("'shape' is not a tuple") }
        var shape: [Int] = []
        for dim in dims {
            guard let n = dim.asInteger else {
                if case .hugeInteger = dim { throw bad("'shape' has a dimension too large to address") }
                if case .bool = dim { throw bad("'shape' has an element that is True or False, not an integer") }
                throw bad("'shape' has an element that is not an integer")
            }
            shape.append(n)
        }
        switch fields["descr"]! {
        case .string(let descr): return (descr, fortran, shape)
        case .list, .tuple, .dict: return (nil, fortran, shape)
        default: throw bad("'descr' is not a dtype")
        }
    }

    /// A recursive-descent reader of Python literals (what `ast.literal_eval` accepts that
    /// a header can hold).
    struct Parser {
        let text: [Unicode.Scalar]
        var at = 0
        /// Values being read, one inside the other. Python's tokenizer refuses brackets
        /// nested more than 200 deep; deeper input (a crafted header within the 1 MiB
        /// limit: 100,000 nested brackets, or as many unary minus signs) would overflow the
        /// stack of this recursive reader.
        var depth = 0
        static let maximumDepth = 200
        /// Python 2's long suffix, `L` after a number (`(50L, 3)`), is dropped: numpy reads a
        /// format 1.0 or 2.0 header that way when `literal_eval` refuses it (its
        /// `_filter_header`, with a warning), not a 3.0 one.
        var pythonTwoLongs = false
        /// The last value read was a unary + or - (`literal_eval` takes one only, before a
        /// number: `--4`, `-(-4)` and `-True` are malformed).
        var lastWasUnary = false

        init(text: [Unicode.Scalar], pythonTwoLongs: Bool = false) {
            self.text = text
            self.pythonTwoLongs = pythonTwoLongs
        }

        var atEnd: Bool { at >= text.count }
        func peek(_ offset: Int = 0) -> Unicode.Scalar? { at + offset < text.count ? text[at + offset] : nil }
        func rest(_ n: Int) -> String { String(String.UnicodeScalarView(text[at..<min(text.count, at + n)])) }

        /// `literal_eval` strips leading spaces and tabs.
        mutating func skipLeadingBlanks() { while let c = peek(), c == " " || c == "\t" { at += 1 } }

        /// Whitespace, newlines, comments and line continuations between tokens.
        mutating func skipSpace() {
            while let c = peek() {
                if c == " " || c == "\t" || c == "\n" || c == "\r" || c == "\u{0C}" || c == "\u{0B}" {
                    at += 1
                } else if c == "#" {
                    while let d = peek(), d != "\n", d != "\r" { at += 1 }
                } else if c == "\\", peek(1) == "\n" {
                    at += 2
                } else {
                    return
                }
            }
        }

        mutating func expect(_ c: Unicode.Scalar) throws {
            skipSpace()
            guard peek() == c else { throw Failure(message: "expected '\(c)' at '\(rest(20))'") }
            at += 1
        }

        mutating func value() throws -> Value {
            depth += 1
            defer { depth -= 1 }
            guard depth <= Parser.maximumDepth else {
                throw Failure(message: "values nested more than \(Parser.maximumDepth) deep")
            }
            skipSpace()
            lastWasUnary = false
            guard let c = peek() else { throw Failure(message: "the header ends early") }
            switch c {
            case "{": return try dictOrSet()
            case "(": return try sequence(close: ")", tuple: true)
            case "[": return try sequence(close: "]", tuple: false)
            case "'", "\"": return try strings()
            case "+", "-":
                at += 1
                let operand = try value()
                guard !lastWasUnary else { throw Failure(message: "'\(c)' before another sign (literal_eval takes one)") }
                lastWasUnary = true
                switch operand {
                case .integer(let n):
                    if c == "+" { return .integer(n) }
                    return n == Int.min ? .hugeInteger : .integer(-n)
                case .hugeInteger, .float: return operand
                default: throw Failure(message: "'\(c)' before a value that is not a number")
                }
            default:
                if c.properties.numericType != nil || c == "." { return try number() }
                if c.properties.isAlphabetic || c == "_" { return try name() }
                throw Failure(message: "unexpected '\(c)'")
            }
        }

        mutating func dictOrSet() throws -> Value {
            at += 1  // "{"
            skipSpace()
            if peek() == "}" { at += 1; return .dict([]) }
            let first = try value()
            skipSpace()
            if peek() == ":" {
                at += 1
                var pairs = [(first, try value())]
                while true {
                    skipSpace()
                    if peek() == "}" { at += 1; return .dict(pairs) }
                    try expect(",")
                    skipSpace()
                    if peek() == "}" { at += 1; return .dict(pairs) }
                    let key = try value()
                    try expect(":")
                    pairs.append((key, try value()))
                }
            }
            // A set literal: a valid literal, never a header.
            while true {
                skipSpace()
                if peek() == "}" { at += 1; return .set }
                try expect(",")
                skipSpace()
                if peek() == "}" { at += 1; return .set }
                _ = try value()
            }
        }

        /// "(…)" or "[…]": a tuple needs a comma unless empty ("(3)" is 3).
        mutating func sequence(close: Unicode.Scalar, tuple: Bool) throws -> Value {
            at += 1
            var items: [Value] = []
            var comma = false
            while true {
                skipSpace()
                if peek() == close { at += 1; break }
                if !items.isEmpty {
                    try expect(",")
                    comma = true
                    skipSpace()
                    if peek() == close { at += 1; break }
                }
                items.append(try value())
            }
            if tuple, items.count == 1, !comma { return items[0] }
            return tuple ? .tuple(items) : .list(items)
        }

        /// One or more adjacent string literals, concatenated (str with str only).
        mutating func strings() throws -> Value {
            var result: Value? = nil
            while true {
                skipSpace()
                let start = at
                var prefix = ""
                while let c = peek(), "rRuUbBfF".unicodeScalars.contains(c), prefix.count < 2 { prefix.unicodeScalars.append(c); at += 1 }
                guard let q = peek(), q == "'" || q == "\"" else {
                    at = start
                    break
                }
                let lower = prefix.lowercased()
                guard !lower.contains("f"), lower != "ur", lower != "ru", lower != "bu", lower != "ub", !(lower.count == 2 && lower.first == lower.last) else {
                    throw Failure(message: "a string prefix literal_eval does not read: '\(prefix)'")
                }
                let piece = try stringBody(raw: lower.contains("r"))
                let next: Value = lower.contains("b") ? .bytes : .string(piece)
                switch (result, next) {
                case (nil, _): result = next
                case (.string(let a)?, .string(let b)): result = .string(a + b)
                case (.bytes?, .bytes): result = .bytes
                default: throw Failure(message: "str and bytes literals next to each other")
                }
            }
            guard let result else { throw Failure(message: "expected a string") }
            return result
        }

        mutating func stringBody(raw: Bool) throws -> String {
            let q = peek()!
            let triple = peek(1) == q && peek(2) == q
            at += triple ? 3 : 1
            var out = String.UnicodeScalarView()
            while true {
                guard let c = peek() else { throw Failure(message: "a string is not closed") }
                if c == q {
                    if !triple { at += 1; return String(out) }
                    if peek(1) == q, peek(2) == q { at += 3; return String(out) }
                }
                if !triple, c == "\n" || c == "\r" { throw Failure(message: "a string is not closed on its line") }
                if c == "\\" {
                    guard let e = peek(1) else { throw Failure(message: "a string is not closed") }
                    if raw {
                        out.append(c)
                        out.append(e)
                        at += 2
                        continue
                    }
                    at += 2
                    switch e {
                    case "\n": break
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "r": out.append("\r")
                    case "0": out.append("\0")
                    case "\\", "'", "\"": out.append(e)
                    case "x", "u", "U":
                        let digits = e == "x" ? 2 : e == "u" ? 4 : 8
                        var v: UInt32 = 0
                        for _ in 0..<digits {
                            guard let h = peek(), h.isASCII, let d = Character(h).hexDigitValue else {
                                throw Failure(message: "a bad \\\(e) escape")
                            }
                            v = v * 16 + UInt32(d)
                            at += 1
                        }
                        guard let s = Unicode.Scalar(v) else { throw Failure(message: "a bad \\\(e) escape") }
                        out.append(s)
                    default:
                        out.append("\\")
                        out.append(e)
                    }
                    continue
                }
                out.append(c)
                at += 1
            }
        }

        mutating func number() throws -> Value {
            var token = ""
            while let c = peek(), c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" || c == "." {
                token.unicodeScalars.append(c)
                at += 1
                if (c == "e" || c == "E"), !token.lowercased().hasPrefix("0x"), let s = peek(), s == "+" || s == "-" {
                    token.unicodeScalars.append(s)
                    at += 1
                }
            }
            if pythonTwoLongs {
                if token.count > 1, token.hasSuffix("L") {
                    token.removeLast()
                } else {
                    // a separate `L` token after the number (`50 L`)
                    var after = at
                    while after < text.count, text[after] == " " || text[after] == "\t" { after += 1 }
                    if after < text.count, text[after] == "L",
                       after + 1 == text.count || !(text[after + 1].properties.isAlphabetic || text[after + 1].properties.numericType != nil || text[after + 1] == "_") {
                        at = after + 1
                    }
                }
            }
            let lower = token.lowercased()
            var radix = 10
            var digits = Substring(lower)
            if lower.hasPrefix("0x") { radix = 16; digits = digits.dropFirst(2) }
            else if lower.hasPrefix("0o") { radix = 8; digits = digits.dropFirst(2) }
            else if lower.hasPrefix("0b") { radix = 2; digits = digits.dropFirst(2) }
            if digits.hasPrefix("_") { digits = digits.dropFirst() }
            let clean = digits.filter { $0 != "_" }
            let wellFormed = !digits.isEmpty && !digits.hasSuffix("_") && !digits.contains("__")
            if wellFormed, clean.allSatisfy({ $0.isASCII && $0.isHexDigit && Int(String($0), radix: 16)! < radix }) {
                // Python 3 refuses a decimal with a leading zero ("007"), except zero itself.
                if radix == 10, clean.count > 1, clean.first == "0", clean.contains(where: { $0 != "0" }) {
                    throw Failure(message: "the number '\(token)' has a leading zero")
                }
                if let n = Int(clean, radix: radix) { return .integer(n) }
                return .hugeInteger
            }
            // A float, or a complex number: valid literals, never a size.
            if lower.contains(".") || lower.contains("e") || lower.hasSuffix("j") || lower == "inf" { return .float }
            throw Failure(message: "'\(token)' is not a number")
        }

        mutating func name() throws -> Value {
            var token = ""
            while let c = peek(), c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" {
                token.unicodeScalars.append(c)
                at += 1
            }
            if let q = peek(), q == "'" || q == "\"", token.count <= 2,
               token.unicodeScalars.allSatisfy({ "rRuUbBfF".unicodeScalars.contains($0) }) {
                at -= token.unicodeScalars.count
                return try strings()
            }
            switch token {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            default: throw Failure(message: "the name '\(token)' is not a literal")
            }
        }
    }

    /// The element type a dtype string names, as `numpy.dtype` reads it (the types a file
    /// may hold here): nil for any other dtype.
    static func type(of descr: String) -> (type: NpyType?, bigEndian: Bool) {
        var body = Substring(descr)
        var order: Character? = nil
        if let first = body.first, "<>=|".contains(first) {
            order = first
            body = body.dropFirst()
        }
        let codes: [String: NpyType] = [
            "f4": .float32, "f": .float32, "f8": .float64, "d": .float64,
            "b1": .bool, "?": .bool,
            "i1": .int8, "b": .int8, "u1": .uint8, "B": .uint8,
            "i2": .int16, "h": .int16, "u2": .uint16, "H": .uint16,
            "i4": .int32, "i": .int32, "u4": .uint32, "I": .uint32,
            "i8": .int64, "l": .int64, "q": .int64, "p": .int64,
            "u8": .uint64, "L": .uint64, "Q": .uint64, "P": .uint64,
        ]
        let names: [String: NpyType] = [
            "float32": .float32, "single": .float32, "float64": .float64, "double": .float64, "float": .float64,
            "bool": .bool, "bool_": .bool,
            "int8": .int8, "byte": .int8, "uint8": .uint8, "ubyte": .uint8,
            "int16": .int16, "short": .int16, "uint16": .uint16, "ushort": .uint16,
            "int32": .int32, "intc": .int32, "uint32": .uint32, "uintc": .uint32,
            "int64": .int64, "int_": .int64, "intp": .int64, "long": .int64, "longlong": .int64,
            "uint64": .uint64, "uint": .uint64, "uintp": .uint64, "ulong": .uint64, "ulonglong": .uint64,
        ]
        guard let type = codes[String(body)] ?? (order == nil ? names[String(body)] : nil) else { return (nil, order == ">") }
        // Big-endian matters for types wider than a byte; numpy ignores it for one byte.
        return (type, order == ">" && type.size > 1)
    }
}
