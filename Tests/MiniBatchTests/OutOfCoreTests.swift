import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch

/// Predicting from `.npy` files and the external shuffle, against references: in-memory
/// `predict` (bit for bit) and the shuffle order of `mb_shuffle_npy`'s contract, recomputed
/// here plainly (a linear search over the buckets instead of the Fenwick tree).
struct OutOfCoreTests {
    let dir: String = {
        var template = Array("/tmp/minibatch-outofcore-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }()

    /// The names in `dir`, sorted (a failed call must leave nothing behind).
    func entries() -> [String] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// All rows of a `.npy` file as bytes, read by the library's reader.
    func contents(_ path: String) throws -> (file: NpyFile, bytes: [UInt8]) {
        let file = try NpyFile(path: path, role: "output")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: file.rows * file.rowBytes, alignment: 8)
        defer { buffer.deallocate() }
        try file.readRows(0, count: file.rows, into: buffer.baseAddress!)
        return (file, Array(buffer))
    }

    func floats(_ bytes: [UInt8]) -> [UInt32] {
        bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
    }

    // MARK: - Predicting from files

    /// A model and an X file of m rows: predictions from the file, with budgets that make
    /// chunks of 256 rows, 512 rows, or all rows, equal predictions in memory bit for bit.
    @Test(arguments: [1, 255, 256, 257, 1000, 3001])
    func predictingAFileEqualsPredictingInMemory(m: Int) throws {
        let nIn = 7
        let x = Fixture.uniform(m * nIn, seed: 21, scale: 3)
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, nIn], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "<i4", shape: [m], data: NpyWriter.ints([Int32](repeating: 0, count: m)))
        for loss in [Loss.crossEntropy, .meanSquaredError] {
            let network = try Network(layerSizes: [nIn, 16, 9, 3], hiddenActivation: .tanh, loss: loss, seed: 4)
            var inMemory = [Float](repeating: 0, count: m * 3)
            try network.predict(x, count: m, features: nIn, into: &inMemory)
            var classes = [Int32](repeating: 0, count: m)
            if loss == .crossEntropy { try network.predictClasses(x, count: m, features: nIn, into: &classes) }
            let activations = 4 * Workspace.floatCount(for: network, capacity: min(m, 256), backward: false)
            for chunk in [256, 512, 1 << 20] {
                let budget = activations + min(chunk, m) * (4 * nIn + 4 * 3) + 100
                try network.predict(npy: dir + "/x.npy", to: dir + "/p.npy", classes: false, memoryBudget: budget)
                let (file, bytes) = try contents(dir + "/p.npy")
                #expect(file.type == .float32 && file.shape == [m, 3])
                #expect(floats(bytes) == inMemory.map(\.bitPattern))
                if loss == .crossEntropy {
                    try network.predict(npy: dir + "/x.npy", to: dir + "/c.npy", classes: true, memoryBudget: budget)
                    let (cfile, cbytes) = try contents(dir + "/c.npy")
                    #expect(cfile.type == .int32 && cfile.shape == [m])
                    #expect(cbytes == NpyWriter.ints(classes))
                }
                // The dataset's budget also holds the exact shuffle's 12 bytes per row.
                let data = try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy", options: FileReadOptions(memoryBudget: budget + 12 * m + 1000))
                #expect(try network.predict(data).map(\.bitPattern) == inMemory.map(\.bitPattern))
                if loss == .crossEntropy { #expect(try network.predictClasses(data) == classes) }
            }
        }
        #expect(entries() == ["c.npy", "p.npy", "x.npy", "y.npy"])
    }

    @Test func theOutputHeaderIsNumpys() {
        // What np.save writes for these arrays (numpy 2.x, format 1.0).
        let header = NpyOutput.header(type: .float32, shape: [3, 2])
        let expected = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"
        #expect(header.count == 128)
        #expect(Array(header[0..<10]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 118, 0])
        #expect(String(decoding: header[10...], as: UTF8.self) == expected + String(repeating: " ", count: 128 - 10 - expected.count - 1) + "\n")
        let classes = NpyOutput.header(type: .int32, shape: [5])
        #expect(String(decoding: classes[10..<(10 + 57)], as: UTF8.self) == "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }")
        #expect(classes.count % 64 == 0)
    }

    @Test func predictionErrorsLeaveNothingBehind() throws {
        let m = 300, nIn = 4
        var x = Fixture.uniform(m * nIn, seed: 3)
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, nIn], data: NpyWriter.floats(x))
        let network = try Network(layerSizes: [nIn, 5, 2], seed: 1)
        let before = entries()
        func kind(_ body: () throws(MiniBatchError) -> Void) -> MiniBatchError.Kind? { Fixture.failure(body)?.kind }
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: dir + "/missing.npy", to: dir + "/p.npy", classes: false) } == .io)
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: dir + "/x.npy", to: dir + "/x.npy", classes: false) } == .invalidArgument)
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: dir + "/x.npy", to: dir + "/../" + String(dir.split(separator: "/").last!) + "/x.npy", classes: false) } == .invalidArgument)
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: dir + "/x.npy", to: dir + "/no/such/dir/p.npy", classes: false) } == .io)
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: dir + "/x.npy", to: dir, classes: false) } == .io)
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: dir + "/x.npy", to: dir + "/p.npy", classes: false, memoryBudget: 1000) } == .invalidArgument)
        #expect(kind { () throws(MiniBatchError) in try network.predict(npy: "", to: dir + "/p.npy", classes: false) } == .invalidArgument)
        let regression = try Network(layerSizes: [nIn, 2], loss: .meanSquaredError)
        #expect(kind { () throws(MiniBatchError) in try regression.predict(npy: dir + "/x.npy", to: dir + "/p.npy", classes: true) } == .invalidArgument)
        let wide = try Network(layerSizes: [nIn + 1, 2])
        #expect(kind { () throws(MiniBatchError) in try wide.predict(npy: dir + "/x.npy", to: dir + "/p.npy", classes: false) } == .invalidArgument)
        // A NaN in the last chunk: found after earlier chunks were written, named by its row.
        x[(m - 1) * nIn + 2] = .nan
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, nIn], data: NpyWriter.floats(x))
        let nan = Fixture.failure { () throws(MiniBatchError) in
            // Chunks of 256 rows: (5 + 2) x 256 activations, 256 rows of 4 inputs and 2 outputs.
            try network.predict(npy: dir + "/x.npy", to: dir + "/p.npy", classes: false, memoryBudget: 7 * 256 * 4 + 256 * 24 + 10)
        }
        #expect(nan?.kind == .invalidArgument && nan?.message.contains("row \(m - 1), column 2") == true)
        #expect(entries() == before)
        // A dataset's capacity is checked before anything is read.
        NpyWriter.write(dir + "/y.npy", descr: "<i4", shape: [m], data: NpyWriter.ints([Int32](repeating: 0, count: m)))
        let data = try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy")
        let small = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * 2 - 1)
        defer { small.deallocate() }
        let capacity = Fixture.failure { () throws(MiniBatchError) in try network.predict(data, into: small) }
        #expect(capacity?.kind == .invalidArgument && capacity?.message.contains("capacity") == true)
    }

    // MARK: - The external shuffle

    /// `mb_shuffle_npy`'s order as the header states it, computed plainly.
    static func referenceOrder(m: Int, seed: UInt64, buckets k: Int) throws -> [Int] {
        if k == 1 { return try Permutation.make(count: m, seed: seed, epoch: 0) }
        var generator = Generator(seed: seed, stream: 0)
        var left = (0..<k).map { b in (b + 1) * m / k - b * m / k }
        var rows = [[Int]](repeating: [], count: k)
        for i in 0..<m {
            var j = Int(generator.below(UInt64(m - i))), b = 0
            while j >= left[b] {
                j -= left[b]
                b += 1
            }
            left[b] -= 1
            rows[b].append(i)
        }
        var order: [Int] = []
        for var bucket in rows {
            var i = bucket.count - 1
            while i > 0 {
                bucket.swapAt(i, Int(generator.below(UInt64(i + 1))))
                i -= 1
            }
            order += bucket
        }
        return order
    }

    /// K from its definition: the fewest k with ceil(m / k) x rowBytes + 16 k <= budget.
    static func referenceBuckets(m: Int, rowBytes: Int, budget: Int) -> Int? {
        (1...m).first { k in ((m + k - 1) / k) * rowBytes + 16 * k <= budget }
    }

    @Test func bucketCountIsTheFewestThatFit() {
        for m in [1, 2, 7, 100, 1000, 4097] {
            for rowBytes in [1, 3, 16, 100] {
                for budget in [1, 17, 50, 100, 333, 1000, 4000, 10_000, 1 << 20] {
                    #expect(NpyShuffle.bucketCount(rows: m, rowBytes: rowBytes, memoryBudget: budget)
                            == OutOfCoreTests.referenceBuckets(m: m, rowBytes: rowBytes, budget: budget))
                }
            }
        }
        #expect(NpyShuffle.bucketCount(rows: 1 << 40, rowBytes: 3136, memoryBudget: 1 << 62) == 1)
        #expect(NpyShuffle.bucketCount(rows: 1 << 30, rowBytes: 3140, memoryBudget: 64 << 20) == 50857)
    }

    /// X rows (r, r + 0.5, r + 0.25) and y = r as int64: every output row names its input.
    func writeIndexed(m: Int) -> [Float] {
        let x = (0..<m).flatMap { r in [Float(r), Float(r) + 0.5, Float(r) + 0.25] }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, 3], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "<i8", shape: [m], data: NpyWriter.ints((0..<m).map { Int64($0) }), version: 2)
        return x
    }

    /// Budgets giving K = 1, a few buckets with buffers, and many buckets of rows written
    /// one at a time: the outputs follow the stated order, keep X and y together, and keep
    /// the dtypes and shapes.
    @Test(arguments: [0, 1 << 30, 12_000, 3000, 1500, 1200])
    func shuffleFollowsTheStatedOrder(budget: Int) throws {
        let m = 1000, rowBytes = 12 + 8
        let x = writeIndexed(m: m)
        try NpyShuffle.shuffle(x: dir + "/x.npy", y: dir + "/y.npy", outX: dir + "/xs.npy", outY: dir + "/ys.npy", seed: 9,
                               memoryBudget: budget)
        let k = OutOfCoreTests.referenceBuckets(m: m, rowBytes: rowBytes, budget: budget == 0 ? FileReadOptions.automaticBudget() : budget)!
        let order = try OutOfCoreTests.referenceOrder(m: m, seed: 9, buckets: k)
        let (xs, xBytes) = try contents(dir + "/xs.npy")
        let (ys, yBytes) = try contents(dir + "/ys.npy")
        #expect(xs.type == .float32 && xs.shape == [m, 3] && ys.type == .int64 && ys.shape == [m])
        #expect(floats(xBytes) == order.flatMap { r in x[(3 * r)..<(3 * r + 3)].map(\.bitPattern) })
        #expect(yBytes == NpyWriter.ints(order.map { Int64($0) }))
        #expect(order.sorted() == Array(0..<m))
        if k == 1 { #expect(try order == Permutation.make(count: m, seed: 9, epoch: 0)) }
        #expect(entries() == ["x.npy", "xs.npy", "y.npy", "ys.npy"])
    }

    @Test func shuffleIsDeterministicInTheSeedAndTakesXAlone() throws {
        let m = 777
        let x = writeIndexed(m: m)
        func shuffled(_ seed: UInt64) throws -> [UInt32] {
            try NpyShuffle.shuffle(x: dir + "/x.npy", y: nil, outX: dir + "/xs.npy", outY: nil, seed: seed, memoryBudget: 2000)
            return floats(try contents(dir + "/xs.npy").bytes)
        }
        let k = OutOfCoreTests.referenceBuckets(m: m, rowBytes: 12, budget: 2000)!
        #expect(k > 1)
        let first = try shuffled(5)
        #expect(try first == OutOfCoreTests.referenceOrder(m: m, seed: 5, buckets: k).flatMap { r in x[(3 * r)..<(3 * r + 3)].map(\.bitPattern) })
        #expect(try shuffled(5) == first)
        #expect(try shuffled(6) != first)
        // One-byte rows of a 1-D bool file, shuffled alone.
        NpyWriter.write(dir + "/b.npy", descr: "|b1", shape: [m], data: (0..<m).map { UInt8($0 % 3 == 0 ? 1 : 0) })
        try NpyShuffle.shuffle(x: dir + "/b.npy", y: nil, outX: dir + "/bs.npy", outY: nil, seed: 5, memoryBudget: 400)
        let kb = OutOfCoreTests.referenceBuckets(m: m, rowBytes: 1, budget: 400)!
        let (bs, bBytes) = try contents(dir + "/bs.npy")
        #expect(bs.type == .bool && bs.shape == [m])
        #expect(try bBytes == OutOfCoreTests.referenceOrder(m: m, seed: 5, buckets: kb).map { UInt8($0 % 3 == 0 ? 1 : 0) })
    }

    @Test func shuffleErrorsLeaveNothingBehind() throws {
        _ = writeIndexed(m: 100)
        NpyWriter.write(dir + "/y99.npy", descr: "<f4", shape: [99, 2], data: NpyWriter.floats([Float](repeating: 1, count: 198)))
        let before = entries()
        func kind(_ x: String, _ y: String?, _ outX: String, _ outY: String?, budget: Int = 0, temp: String? = nil) -> MiniBatchError.Kind? {
            Fixture.failure { () throws(MiniBatchError) in
                try NpyShuffle.shuffle(x: x, y: y, outX: outX, outY: outY, seed: 1, memoryBudget: budget, temporaryDirectory: temp)
            }?.kind
        }
        let (x, y, xo, yo) = (dir + "/x.npy", dir + "/y.npy", dir + "/xo.npy", dir + "/yo.npy")
        #expect(kind(dir + "/missing.npy", y, xo, yo) == .io)
        #expect(kind(x, y, xo, nil) == .invalidArgument)
        #expect(kind(x, nil, xo, yo) == .invalidArgument)
        #expect(kind(x, y, x, yo) == .invalidArgument)
        #expect(kind(x, y, xo, y) == .invalidArgument)
        #expect(kind(x, y, xo, xo) == .invalidArgument)
        #expect(kind(x, y, xo, dir + "/./xo.npy") == .invalidArgument)
        #expect(kind(x, y, "", yo) == .invalidArgument)
        #expect(kind(x, dir + "/y99.npy", xo, yo) == .invalidArgument)
        #expect(kind(x, y, xo, yo, budget: 100) == .invalidArgument)
        #expect(kind(x, y, dir + "/no/such/xo.npy", yo) == .io)
        #expect(kind(x, y, dir, yo) == .io)
        #expect(kind(x, y, xo, yo, budget: 500, temp: dir + "/no-such-dir") == .io)
        #expect(kind(x, y, xo, yo, budget: 500, temp: x) == .io)
        #expect(kind(dir, y, xo, yo) == .io)
        #expect(entries() == before)
        // The buckets' file lives in temp_dir only while the shuffle runs.
        try NpyShuffle.shuffle(x: x, y: y, outX: xo, outY: yo, seed: 1, memoryBudget: 500, temporaryDirectory: dir)
        #expect(entries() == (before + ["xo.npy", "yo.npy"]).sorted())
    }
}
