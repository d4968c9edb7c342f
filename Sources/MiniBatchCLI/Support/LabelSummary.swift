#if canImport(Glibc)
import Glibc
#endif
import MiniBatch

/// What the tool needs to know of y without loading it: the number of classes of integer
/// labels (the default outputs of a new network), and each column's sum of squares about its
/// mean as float32 targets (the total sum of squares of R^2; integers too, which the
/// regression losses read as values). Read in chunks of 1 MiB.
struct LabelSummary {
    var isInteger: Bool
    var columns: Int
    /// y is 2-D, (m, columns), one column or more (a 1-D y is (m)).
    var isMatrix = false
    var count = 0
    /// The smallest and largest integer label.
    var minLabel = Int64.max, maxLabel = Int64.min
    /// Per column of float targets: the sum of squares about its mean (the library's, as the
    /// validation score's R^2 takes it).
    private var floatColumns: SquaresAboutMean?

    init(classes: [Int32]) {
        isInteger = true
        columns = 1
        count = classes.count
        for label in classes {
            minLabel = min(minLabel, Int64(label))
            maxLabel = max(maxLabel, Int64(label))
        }
    }

    init(_ file: NpyFile) throws {
        isInteger = file.type.isInteger
        columns = file.columns
        isMatrix = file.shape.count == 2
        count = file.rows
        floatColumns = try SquaresAboutMean(columns: columns)
        let fd = open(file.path, O_RDONLY)
        guard fd >= 0 else { throw Failure("cannot open '\(file.path)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let rowBytes = file.rowBytes
        let rowsPerChunk = max(1, (1 << 20) / rowBytes)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: rowsPerChunk * rowBytes, alignment: 16)
        defer { buffer.deallocate() }
        var row = 0
        while row < file.rows {
            let rows = min(rowsPerChunk, file.rows - row)
            let wanted = rows * rowBytes
            var got = 0
            while got < wanted {
                let n = pread(fd, buffer + got, wanted - got, off_t(file.dataOffset + row * rowBytes + got))
                guard n > 0 else { throw Failure("cannot read '\(file.path)': \(n == 0 ? "it is shorter than its header says" : String(cString: strerror(errno)))") }
                got += n
            }
            add(buffer, rows: rows, type: file.type)
            row += rows
        }
    }

    private mutating func add(_ bytes: UnsafeRawPointer, rows: Int, type: NpyType) {
        let n = rows * columns
        if let floatColumns {
            // (float64 and integers rounded to float32 first, as training reads them)
            for r in 0..<rows {
                for j in 0..<columns {
                    floatColumns.add(Double(type.float(bytes, r * columns + j)), column: j)
                }
                floatColumns.endRow()
            }
        }
        guard type.isInteger else { return }
        for i in 0..<n {
            // (a uint64 above Int64.max counts as Int64.max, the largest label)
            let v = type.integer(bytes, i) ?? Int64.max
            minLabel = min(minLabel, v)
            maxLabel = max(maxLabel, v)
        }
    }

    /// The outputs a new network gets: 1 + the largest label (at least 2), or y's columns.
    func defaultOutputs() throws -> Int {
        guard isInteger else { return columns }
        guard count > 0, minLabel >= 0 else {
            throw Failure("--y: class labels must be >= 0, found \(minLabel)")
        }
        guard maxLabel < 1 << 24 else {
            // (a uint64 label above Int64.max was counted as Int64.max)
            throw Failure("--y: the largest class label is \(maxLabel == Int64.max ? "at least \(maxLabel)" : "\(maxLabel)"): give --outputs or --layers")
        }
        return max(2, Int(maxLabel) + 1)
    }

    /// The targets' columns as float32, whose residuals an evaluation fills for R^2 (nil for
    /// labels given in memory).
    var regressionColumns: SquaresAboutMean? { floatColumns }
}
