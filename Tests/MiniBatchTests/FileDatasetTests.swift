import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MiniBatch

/// Writes `.npy` files as numpy's format specification describes them (numpy-written files
/// are tested from Python): magic, version, padded header dict, C-order data.
enum NpyWriter {
    static func write(_ path: String, descr: String, shape: [Int], data: [UInt8], version: Int = 1, fortran: Bool = false) {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [UInt8(version), 0]
        let length = header.utf8.count
        bytes += version == 1 ? [UInt8(length & 0xFF), UInt8(length >> 8)]
                              : [UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF), UInt8((length >> 16) & 0xFF), UInt8(length >> 24)]
        bytes += Array(header.utf8) + data
        let file = fopen(path, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }

    static func floats(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
    static func ints<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
}

struct FileDatasetTests {
    let dir: String = {
        var template = Array("/tmp/minibatch-npy-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }()

    /// X row r is (r, r + 0.5, ...): the row visited is read back from the batch.
    func writeIndexed(m: Int, features: Int = 3, version: Int = 1) -> (String, String) {
        let x = (0..<m).flatMap { r in (0..<features).map { Float(r) + Float($0) * 0.5 } }
        let y = (0..<m).map { Int32($0 % 2) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, features], data: NpyWriter.floats(x), version: version)
        NpyWriter.write(dir + "/y.npy", descr: "<i4", shape: [m], data: NpyWriter.ints(y), version: version)
        return (dir + "/x.npy", dir + "/y.npy")
    }

    /// The rows of X in the order one epoch of `source` visits them.
    func visitOrder(_ source: FileBatches, _ partition: Partition, epoch: UInt64, features: Int = 3) throws -> [Int] {
        try source.startEpoch(epoch)
        var rows: [Int] = []
        for b in 0..<partition.batchCount {
            let (x, _) = try source.batch(b)
            for k in 0..<partition.batch(b).count { rows.append(Int(x[k * features])) }
        }
        return rows
    }

    @Test(arguments: [1, 2, 3])
    func exactShuffleFollowsTheInMemoryPermutation(version: Int) throws {
        let m = 1000
        let (xp, yp) = writeIndexed(m: m, version: version)
        let data = try FileDataset(x: xp, y: yp)
        let network = try Network(layerSizes: [3, 2])
        let partition = Partition(count: m, batchSize: 64, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: network, seed: 7, shuffle: true)
        defer { source.finish() }
        for epoch: UInt64 in [0, 1, 5] {
            #expect(try visitOrder(source, partition, epoch: epoch) == Permutation.make(count: m, seed: 7, epoch: epoch))
        }
    }

    @Test(arguments: [(64, 1 << 20), (256, 8192), (1 << 20, 1 << 20)])
    func blockShuffleVisitsEveryRowOnceAndKeepsBlocksTogether(blockBytes: Int, budget: Int) throws {
        let m = 1001
        let (xp, yp) = writeIndexed(m: m)
        let data = try FileDataset(x: xp, y: yp, options: FileReadOptions(shuffle: .block, blockBytes: blockBytes, memoryBudget: budget))
        let network = try Network(layerSizes: [3, 2])
        let partition = Partition(count: m, batchSize: 50, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: network, seed: 3, shuffle: true)
        defer { source.finish() }
        let first = try visitOrder(source, partition, epoch: 0)
        let second = try visitOrder(source, partition, epoch: 1)
        #expect(first.sorted() == Array(0..<m))
        #expect(second.sorted() == Array(0..<m))
        #expect(first != second)
        #expect(first != Array(0..<m))
        // Each pool's stretch of the order is exactly the rows of its blocks, taken
        // poolBlocks at a time from the epoch's block order.
        _ = try visitOrder(source, partition, epoch: 0)
        let blockOrder = Array(UnsafeBufferPointer(start: source.blockOrder!, count: source.blockCount))
        #expect(blockOrder.sorted() == Array(0..<source.blockCount))
        var start = 0
        for group in stride(from: 0, to: blockOrder.count, by: source.poolBlocks) {
            let blocks = blockOrder[group..<min(group + source.poolBlocks, blockOrder.count)]
            let rows = blocks.flatMap { b in (b * source.rowsPerBlock)..<min((b + 1) * source.rowsPerBlock, m) }
            #expect(Set(first[start..<start + rows.count]) == Set(rows))
            start += rows.count
        }
        // The same seed gives the same order.
        #expect(try visitOrder(source, partition, epoch: 0) == first)
    }

    @Test func trainingFromAFileEqualsTrainingFromMemory() throws {
        let m = 600
        let x = Fixture.uniform(m * 4, seed: 11)
        let y = (0..<m).map { Int32(x[4 * $0] + x[4 * $0 + 1] > 0 ? 1 : 0) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, 4], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "|u1", shape: [m], data: y.map { UInt8($0) })
        let options = TrainingOptions(epochs: 3, batchSize: .fixed(32), learningRate: 0.3, seed: 5)
        let a = try Network(layerSizes: [4, 8, 2], hiddenActivation: .tanh, seed: 2)
        let b = try Network(layerSizes: [4, 8, 2], hiddenActivation: .tanh, seed: 2)
        let fromFile = History(), fromMemory = History()
        try a.train(try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy"), options: options, history: fromFile)
        try b.train(x: x, classes: y, features: 4, options: options, history: fromMemory)
        #expect(a.parameterArray == b.parameterArray)
        #expect(fromFile.batchCosts == fromMemory.batchCosts && fromFile.epochCosts == fromMemory.epochCosts)
        let evaluated = try a.evaluate(try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy"))
        #expect(evaluated.cost == (try a.evaluate(x: x, classes: y, features: 4)).cost)
    }

    /// Drops the file's pages from the page cache (after writing them to disk).
    func evict(_ path: String) {
        let fd = open(path, O_RDONLY)
        fsync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    @Test(arguments: [false, true])
    func membersReadTheirOwnRowsInExactMode(cold: Bool) throws {
        // With more than one training thread, each reads its shard of a batch: the rows are
        // those of the order, from the page cache or (cold) from disk.
        let m = 1000, features = 40
        let (xp, yp) = writeIndexed(m: m, features: features)
        if cold { evict(xp) }
        let data = try FileDataset(x: xp, y: yp)
        let partition = Partition(count: m, batchSize: 128, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: try Network(layerSizes: [features, 2]),
                                     seed: 9, shuffle: true, readers: 2)
        defer { source.finish() }
        #expect(source.membersRead)
        try source.startEpoch(0)
        var rows: [Int] = []
        for b in 0..<partition.batchCount {
            let count = partition.batch(b).count
            let (x, _) = try source.batch(b)
            try source.fill(b, rows: count / 2..<count)  // in any order, as members do
            try source.fill(b, rows: 0..<count / 2)
            for k in 0..<count {
                rows.append(Int(x[k * features]))
                #expect(x[k * features + features - 1] == x[k * features] + Float(features - 1) * 0.5)
            }
        }
        #expect(rows == Permutation.make(count: m, seed: 9, epoch: 0))
        if cold { #expect(source.waitedReads.load(ordering: .relaxed) > 0) }
    }

    @Test func aTeamTrainingFromAFileEqualsTrainingFromMemory() throws {
        let m = 1024, features = 40
        let x = Fixture.uniform(m * features, seed: 12)
        let y = (0..<m).map { Int32(x[features * $0] + x[features * $0 + 1] > 0 ? 1 : 0) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, features], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "<i2", shape: [m], data: NpyWriter.ints(y.map { Int16($0) }))
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(256), learningRate: 0.3, seed: 5, threads: 2)
        let a = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
        let b = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
        #expect(TrainingStep.shards(rows: 256, network: a, team: 2) == 2)
        try a.train(try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy"), options: options)
        try b.train(x: x, classes: y, features: features, options: options)
        #expect(a.parameterArray == b.parameterArray)
        // A NaN met by a member stops training before its batch is used.
        var bad = x
        bad[777 * features + 3] = .nan
        NpyWriter.write(dir + "/bad.npy", descr: "<f4", shape: [m, features], data: NpyWriter.floats(bad))
        let failure = Fixture.failure { () throws(MiniBatchError) in
            try a.train(try FileDataset(x: dir + "/bad.npy", y: dir + "/y.npy"), options: options)
        }
        #expect(failure?.kind == .invalidArgument)
        #expect(failure?.message.contains("non-finite value (nan) at row 777, column 3") == true)
    }

    @Test func aMemberReadingAShrunkFileStops() throws {
        let m = 1000, features = 40
        let (xp, yp) = writeIndexed(m: m, features: features)
        let data = try FileDataset(x: xp, y: yp)
        let partition = Partition(count: m, batchSize: 500, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: try Network(layerSizes: [features, 2]),
                                     seed: 9, shuffle: true, readers: 2)
        defer { source.finish() }
        try source.startEpoch(0)
        _ = try source.batch(0)
        #expect(truncate(xp, 200 * off_t(features * 4)) == 0)
        let failure = Fixture.failure { () throws(MiniBatchError) in try source.fill(0, rows: 0..<500) }
        #expect(failure?.kind == .io)
        #expect(failure?.message.contains("changed size") == true)
    }

    @Test func blockShuffleTrainingEqualsTrainingOnTheVisitedOrder() throws {
        let m = 700
        let x = (0..<m).flatMap { r in [Float(r), Fixture.uniform(1, seed: UInt64(r))[0], Fixture.uniform(1, seed: UInt64(r + 5000))[0]] }
        let y = (0..<m).map { Int32($0 % 3 == 0 ? 1 : 0) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, 3], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "<i8", shape: [m], data: NpyWriter.ints(y.map { Int64($0) }))
        let data = try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy",
                                   options: FileReadOptions(shuffle: .block, blockBytes: 120, memoryBudget: 16384))
        let probe = try Network(layerSizes: [3, 2])
        let partition = Partition(count: m, batchSize: 32, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: probe, seed: 4, shuffle: true)
        let orders = [try visitOrder(source, partition, epoch: 0), try visitOrder(source, partition, epoch: 1)]
        source.finish()
        let a = try Network(layerSizes: [3, 6, 2], hiddenActivation: .tanh, seed: 1)
        let b = try Network(layerSizes: [3, 6, 2], hiddenActivation: .tanh, seed: 1)
        try a.train(data, options: TrainingOptions(epochs: 2, batchSize: .fixed(32), learningRate: 0.01, seed: 4))
        for order in orders {
            try b.train(x: order.flatMap { Array(x[3 * $0..<3 * $0 + 3]) }, classes: order.map { y[$0] }, features: 3,
                        options: TrainingOptions(epochs: 1, batchSize: .fixed(32), learningRate: 0.01, shuffle: false))
        }
        #expect(a.parameterArray == b.parameterArray)
    }

    @Test func badFilesAreRefusedWithClearErrors() throws {
        let (xp, yp) = writeIndexed(m: 10)
        func failure(_ x: String, _ y: String) -> MiniBatchError? {
            Fixture.failure { () throws(MiniBatchError) in _ = try FileDataset(x: x, y: y) }
        }
        #expect(failure(dir + "/missing.npy", yp)?.kind == .io)
        NpyWriter.write(dir + "/f8.npy", descr: "<f8", shape: [10, 3], data: [UInt8](repeating: 0, count: 240))
        #expect(failure(dir + "/f8.npy", yp)?.message.contains("<f8") == true)
        NpyWriter.write(dir + "/be.npy", descr: ">f4", shape: [10, 3], data: [UInt8](repeating: 0, count: 120))
        #expect(failure(dir + "/be.npy", yp)?.message.contains("big-endian") == true)
        NpyWriter.write(dir + "/fortran.npy", descr: "<f4", shape: [10, 3], data: [UInt8](repeating: 0, count: 120), fortran: true)
        #expect(failure(dir + "/fortran.npy", yp)?.message.contains("Fortran") == true)
        NpyWriter.write(dir + "/short.npy", descr: "<f4", shape: [10, 3], data: [UInt8](repeating: 0, count: 100))
        #expect(failure(dir + "/short.npy", yp)?.kind == .format)
        NpyWriter.write(dir + "/y9.npy", descr: "<i4", shape: [9], data: [UInt8](repeating: 0, count: 36))
        #expect(failure(xp, dir + "/y9.npy")?.message.contains("same number of rows") == true)
        let garbage = fopen(dir + "/garbage.npy", "wb")!
        fputs("this is not numpy", garbage)
        fclose(garbage)
        #expect(failure(dir + "/garbage.npy", yp)?.kind == .format)
    }
}
