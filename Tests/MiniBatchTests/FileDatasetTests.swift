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

    /// `options` with X never held in memory: every batch's rows are read from the file (the
    /// tests of the reader's mechanics; the `held` cases compare the two).
    static func streamed(_ options: FileReadOptions = FileReadOptions()) -> FileReadOptions {
        var options = options
        options.holdsX = false
        return options
    }

    /// `options` with the rows not held read with `pread`, never copied from a mapping of
    /// the file (`FileMapping`): the reference of the mapped reads.
    static func preadOnly(_ options: FileReadOptions = FileReadOptions()) -> FileReadOptions {
        var options = options
        options.mapsX = false
        return options
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

    @Test(arguments: [1, 2, 3], [false, true])
    func exactShuffleFollowsTheInMemoryPermutation(version: Int, held: Bool) throws {
        let m = 1000
        let (xp, yp) = writeIndexed(m: m, version: version)
        let data = try FileDataset(x: xp, y: yp, options: held ? FileReadOptions() : Self.streamed())
        let network = try Network(layerSizes: [3, 2])
        let partition = Partition(count: m, batchSize: 64, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: network, seed: 7, shuffle: true)
        defer { source.finish() }
        #expect((source.heldX != nil) == held)
        for epoch: UInt64 in [0, 1, 5] {
            #expect(try visitOrder(source, partition, epoch: epoch) == Permutation.make(count: m, seed: 7, epoch: epoch))
        }
    }

    @Test(arguments: [(64, 1 << 20), (256, 16384), (1 << 20, 1 << 20)])
    func blockShuffleVisitsEveryRowOnceAndKeepsBlocksTogether(blockBytes: Int, budget: Int) throws {
        let m = 9001  // blocks of at most ceil(m / 1024) = 9 rows
        let (xp, yp) = writeIndexed(m: m)
        let data = try FileDataset(x: xp, y: yp, options: Self.streamed(FileReadOptions(shuffle: .block, blockBytes: blockBytes, memoryBudget: budget)))
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
        // firstGroupBlocks, then poolBlocks at a time from the epoch's block order.
        _ = try visitOrder(source, partition, epoch: 0)
        let blockOrder = Array(UnsafeBufferPointer(start: source.blockOrder!, count: source.blockCount))
        #expect(blockOrder.sorted() == Array(0..<source.blockCount))
        #expect(source.firstGroupBlocks == min(source.poolBlocks, max(1, source.blockCount / 8)))
        var start = 0, next = 0
        for group in 0..<source.groupCount {
            #expect(source.blocks(ofGroup: group).lowerBound == next)
            next = source.blocks(ofGroup: group).upperBound
            let blocks = blockOrder[source.blocks(ofGroup: group)]
            let rows = blocks.flatMap { b in (b * source.rowsPerBlock)..<min((b + 1) * source.rowsPerBlock, m) }
            #expect(Set(first[start..<start + rows.count]) == Set(rows))
            start += rows.count
        }
        #expect(next == source.blockCount && start == m)
        // The same seed gives the same order.
        #expect(try visitOrder(source, partition, epoch: 0) == first)
    }

    /// A block-shuffled training leaves its pools of X with the dataset, and the next one
    /// reuses them with the same result as new ones; a prediction frees them first.
    @Test func blockPoolsAreKeptForTheNextTraining() throws {
        let m = 3000, features = 8
        let (xp, yp) = writeIndexed(m: m, features: features)
        let options = Self.streamed(FileReadOptions(shuffle: .block, blockBytes: 1 << 12, memoryBudget: 1 << 20))
        let data = try FileDataset(x: xp, y: yp, options: options)
        #expect(data.keptPoolBytes == 0)
        let train = TrainingOptions(epochs: 2, batchSize: .fixed(64), learningRate: 1e-4, seed: 4)
        var weights: [[Float]] = []
        for dataset in [data, data, try FileDataset(x: xp, y: yp, options: options)] {
            let network = try Network(layerSizes: [features, 4, 2], seed: 1)
            try network.train(dataset, options: train)
            weights.append(network.parameterArray)
        }
        let layout = try data.readerLayout(batchSize: 64)
        #expect(data.keptPoolBytes == 2 * layout.poolBlocks * layout.rowsPerBlock * features * 4)
        #expect(weights[1] == weights[0] && weights[2] == weights[0])
        _ = try Network(layerSizes: [features, 4, 2]).predict(data)
        #expect(data.keptPoolBytes == 0)
    }

    @Test(arguments: [false, true])
    func trainingFromAFileEqualsTrainingFromMemory(held: Bool) throws {
        let m = 600
        let x = Fixture.uniform(m * 4, seed: 11)
        let y = (0..<m).map { Int32(x[4 * $0] + x[4 * $0 + 1] > 0 ? 1 : 0) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, 4], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "|u1", shape: [m], data: y.map { UInt8($0) })
        let options = TrainingOptions(epochs: 3, batchSize: .fixed(32), learningRate: 0.3, seed: 5)
        let a = try Network(layerSizes: [4, 8, 2], hiddenActivation: .tanh, seed: 2)
        let b = try Network(layerSizes: [4, 8, 2], hiddenActivation: .tanh, seed: 2)
        let fromFile = History(), fromMemory = History()
        let data = try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy", options: held ? FileReadOptions() : Self.streamed())
        try a.train(data, options: options, history: fromFile)
        #expect((data.keptXRows == m) == held)
        try b.train(x: x, classes: y, features: 4, options: options, history: fromMemory)
        #expect(a.parameterArray == b.parameterArray)
        #expect(fromFile.batchCosts == fromMemory.batchCosts && fromFile.epochCosts == fromMemory.epochCosts)
        let evaluated = try a.evaluate(try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy"))
        #expect(evaluated.cost == (try a.evaluate(x: x, classes: y, features: 4)).cost)
    }

    /// X held in memory (a budget that holds it) trains exactly as X read from the file each
    /// batch, in both shuffles, alone and with a team; the dataset keeps it for the next
    /// training while the file is unchanged, reads it again once the file is written to,
    /// and frees it for a prediction.
    @Test(arguments: [FileShuffle.exact, .block], [1, 2])
    func heldXTrainsAsTheFileReadEachBatch(shuffle: FileShuffle, threads: Int) throws {
        let m = 3000, features = 40
        let x = Fixture.uniform(m * features, seed: 31)
        let y = (0..<m).map { Int32(x[features * $0] + x[features * $0 + 2] > 0 ? 1 : 0) }
        let xp = dir + "/x.npy", yp = dir + "/y.npy"
        NpyWriter.write(xp, descr: "<f4", shape: [m, features], data: NpyWriter.floats(x))
        NpyWriter.write(yp, descr: "|u1", shape: [m], data: NpyWriter.ints(y.map { UInt8($0) }))
        let read = FileReadOptions(shuffle: shuffle, blockBytes: 20 * features * 4, memoryBudget: 2 << 20)
        let held = try FileDataset(x: xp, y: yp, options: read)
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(128), learningRate: 0.3, seed: 8, threads: threads)
        func trained(_ data: FileDataset) throws -> ([Float], [Double]) {
            let network = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
            let history = History()
            try network.train(data, options: options, history: history)
            return (network.parameterArray, history.batchCosts)
        }
        let reference = try trained(try FileDataset(x: xp, y: yp, options: Self.streamed(read)))
        #expect(held.keptXRows == 0)
        #expect(try trained(held) == reference)
        #expect(held.keptXRows == m && held.keptPoolBytes == 0)
        #expect(try trained(held) == reference)  // from the kept copy
        // Written to in place (same size): read again, not the stale copy.
        let fd = open(xp, O_WRONLY)
        var row = [Float](repeating: 3, count: features)
        #expect(pwrite(fd, &row, features * 4, off_t(held.x.dataOffset + 17 * features * 4)) == features * 4)
        close(fd)
        let changed = try trained(try FileDataset(x: xp, y: yp, options: Self.streamed(read)))
        #expect(changed.0 != reference.0)
        #expect(try trained(held) == changed)
        _ = try Network(layerSizes: [features, 2]).predict(held)
        #expect(held.keptXRows == 0)
        // A budget that cannot hold X: both shuffles hold X's first rows that they can
        // (`xHeldInPartTrainsAsTheFileReadEachBatch`; the block shuffle where it copies its
        // rows from the file's mapping: `blockShuffleCopiesACachedFileFromItsMapping`), in
        // their own order (the block shuffle's follows the budget: the exact one's does not).
        let small = try FileDataset(x: xp, y: yp, options: FileReadOptions(shuffle: shuffle, memoryBudget: m * features * 2))
        let fromSmall = try trained(small)
        if shuffle == .exact { #expect(fromSmall == changed) }
        #expect(small.keptXRows > 0 && small.keptXRows < m)
    }

    /// With the exact shuffle and a budget that holds part of X, X's first rows are held
    /// (as many as the budget holds beside the reader's buffers) and the rest copied from a
    /// mapping of the file: the same weights and costs as X read with `pread` each batch
    /// and as training from memory, alone and with a team, with the file in the page cache
    /// and not, and with the rest read with `pread`; the kept rows are used again while the
    /// file is unchanged.
    @Test(arguments: [1, 2])
    func xHeldInPartTrainsAsTheFileReadEachBatch(threads: Int) throws {
        let m = 3000, features = 40
        let (x, y, xp, yp) = writeUniform(m: m, features: features, seed: 37, columns: (1, 3), bytes: true)
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(128), learningRate: 0.3, seed: 9, threads: threads)
        let shape = [features, 16, 2]
        func trained(_ data: FileDataset) throws -> ([Float], [Double]) { try trainedTanh(data, options: options) }
        let memory = try Network(layerSizes: shape, hiddenActivation: .tanh, seed: 3)
        let fromMemory = History()
        try memory.train(x: x, classes: y, features: features, options: options, history: fromMemory)
        // Half of X beside the reader's buffers.
        let probe = try FileDataset(x: xp, y: yp)
        let budget = probe.exactReaderBytes(batchSize: 128) + m * features * 2
        let read = FileReadOptions(shuffle: .exact, memoryBudget: budget)
        let part = try FileDataset(x: xp, y: yp, options: read)
        let layout = try part.readerLayout(batchSize: 128)
        #expect(part.heldRows(batchSize: 128, layout: layout) == m / 2)
        let reference = try trained(try FileDataset(x: xp, y: yp, options: Self.preadOnly(Self.streamed(read))))
        #expect(reference.0 == memory.parameterArray && reference.1 == fromMemory.batchCosts)
        #expect(try trained(part) == reference)
        #expect(part.keptXRows == m / 2)
        evict(xp)
        #expect(try trained(part) == reference)  // the kept rows, the others from the disk
        let fresh = try FileDataset(x: xp, y: yp, options: read)
        evict(xp)
        #expect(try trained(fresh) == reference)  // both from the disk
        // Every row from the mapping, and the rows not held read with pread.
        #expect(try trained(try FileDataset(x: xp, y: yp, options: Self.streamed(read))) == reference)
        #expect(try trained(try FileDataset(x: xp, y: yp, options: Self.preadOnly(read))) == reference)
        // A budget given below the reader's buffers plus one row holds none.
        #expect(FileDataset.heldRows(count: 10, rowBytes: 100, readerBytes: 1000, budget: 1099, usableMemory: 1 << 20) == 0)
        #expect(FileDataset.heldRows(count: 10, rowBytes: 100, readerBytes: 1000, budget: 1100, usableMemory: 1 << 20) == 1)
        #expect(FileDataset.heldRows(count: 10, rowBytes: 100, readerBytes: 1000, budget: 1 << 20, usableMemory: 1 << 20) == 10)
        #expect(FileDataset.heldRows(count: 10, rowBytes: 100, readerBytes: 1000, budget: 1 << 20, usableMemory: 700) == 3)
        #expect(FileDataset.heldRows(count: 10, rowBytes: 100, readerBytes: 1000, budget: 500, usableMemory: 1 << 20) == 0)
    }

    /// The block shuffle with a budget below X, the file in the page cache: its rows are
    /// copied from a mapping of the file in the block shuffle's order, computed as file rows,
    /// to the same weights and costs as reading the pools (alone and with a team). A file not
    /// in the page cache as training starts, or whose pages are released, is read into the
    /// pools.
    @Test(arguments: [1, 2])
    func blockShuffleCopiesACachedFileFromItsMapping(threads: Int) throws {
        let m = 3000, features = 40
        let (_, _, xp, yp) = writeUniform(m: m, features: features, seed: 41, columns: (2, 5), bytes: false)
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(128), learningRate: 0.3, seed: 5, threads: threads)
        func trained(_ data: FileDataset) throws -> ([Float], [Double]) { try trainedTanh(data, options: options) }
        let read = FileReadOptions(shuffle: .block, blockBytes: 10 * features * 4, memoryBudget: m * features * 2)
        let mapped = try FileDataset(x: xp, y: yp, options: read)
        let partition = Partition(count: m, batchSize: 128, lastBatch: .keep)
        func source(_ data: FileDataset) throws -> FileBatches {
            let source = try FileBatches(data, partition: partition, network: try Network(layerSizes: [features, 2]),
                                         seed: 5, shuffle: true, readers: threads)
            source.finish()
            return source
        }
        let fromMapping = try source(mapped)
        #expect(fromMapping.blockOrderAsRows && fromMapping.xMapping != nil)
        // X's first rows held beside the order, as the exact shuffle holds them.
        let layout = try mapped.readerLayout(batchSize: 128)
        let heldRows = mapped.heldRowsInPart(batchSize: 128, layout: layout)
        #expect(heldRows > 0 && heldRows < m && fromMapping.heldX?.rows == heldRows)
        #expect(heldRows == (read.memoryBudget - mapped.exactReaderBytes(batchSize: 128) - FileDataset.blockOrderAsRowsBytes(layout)) / (features * 4))
        let pooled = try FileDataset(x: xp, y: yp, options: Self.preadOnly(read))
        #expect(try source(pooled).xMapping == nil && !source(pooled).blockOrderAsRows)
        let reference = try trained(pooled)
        #expect(try trained(mapped) == reference)
        #expect(mapped.keptXRows == heldRows)
        #expect(try trained(mapped) == reference)  // the kept rows
        var unheld = read
        unheld.holdsX = false
        #expect(try source(try FileDataset(x: xp, y: yp, options: unheld)).heldX == nil)  // (the pools)
        evict(xp)
        #expect(try source(mapped).xMapping == nil)
        #expect(try trained(mapped) == reference)  // from the pools (and the file now cached)
        var released = read
        released.pageCache = .release
        #expect(try source(try FileDataset(x: xp, y: yp, options: released)).xMapping == nil)
    }

    /// X (m, features) uniform from `seed`, labelled 1 where the sum of two of its columns is
    /// positive, written as x.npy and y.npy (labels as uint8 with `bytes`, else int32).
    func writeUniform(
        m: Int, features: Int, seed: UInt64, columns: (Int, Int), bytes: Bool
    ) -> (x: [Float], y: [Int32], xPath: String, yPath: String) {
        let x = Fixture.uniform(m * features, seed: seed)
        let y = (0..<m).map { Int32(x[features * $0 + columns.0] + x[features * $0 + columns.1] > 0 ? 1 : 0) }
        let xp = dir + "/x.npy", yp = dir + "/y.npy"
        NpyWriter.write(xp, descr: "<f4", shape: [m, features], data: NpyWriter.floats(x))
        if bytes {
            NpyWriter.write(yp, descr: "|u1", shape: [m], data: NpyWriter.ints(y.map { UInt8($0) }))
        } else {
            NpyWriter.write(yp, descr: "<i4", shape: [m], data: NpyWriter.ints(y))
        }
        return (x, y, xp, yp)
    }

    /// The weights and batch costs of a (features, 16, 2) tanh network (seed 3) trained on
    /// `data`.
    func trainedTanh(_ data: FileDataset, options: TrainingOptions) throws -> ([Float], [Double]) {
        let network = try Network(layerSizes: [data.features, 16, 2], hiddenActivation: .tanh, seed: 3)
        let history = History()
        try network.train(data, options: options, history: history)
        return (network.parameterArray, history.batchCosts)
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
        let data = try FileDataset(x: xp, y: yp, options: Self.streamed())
        let partition = Partition(count: m, batchSize: 128, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: try Network(layerSizes: [features, 2]),
                                     seed: 9, shuffle: true, readers: 2)
        defer { source.finish() }
        #expect(source.membersFill)
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
        #expect(try rows == Permutation.make(count: m, seed: 9, epoch: 0))
        if cold { #expect(source.waitedReads.load(ordering: .relaxed) > 0) }
    }

    @Test(arguments: [false, true])
    func aTeamTrainingFromAFileEqualsTrainingFromMemory(held: Bool) throws {
        let m = 1024, features = 40
        let x = Fixture.uniform(m * features, seed: 12)
        let y = (0..<m).map { Int32(x[features * $0] + x[features * $0 + 1] > 0 ? 1 : 0) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, features], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "<i2", shape: [m], data: NpyWriter.ints(y.map { Int16($0) }))
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(256), learningRate: 0.3, seed: 5, threads: 2)
        let a = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
        let b = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
        #expect(TrainingStep.shards(rows: 256, network: a, team: 2) == 2)
        let read = held ? FileReadOptions() : Self.streamed()
        try a.train(try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy", options: read), options: options)
        try b.train(x: x, classes: y, features: features, options: options)
        #expect(a.parameterArray == b.parameterArray)
        // A NaN met by a member stops training before its batch is used.
        var bad = x
        bad[777 * features + 3] = .nan
        NpyWriter.write(dir + "/bad.npy", descr: "<f4", shape: [m, features], data: NpyWriter.floats(bad))
        let failure = Fixture.failure { () throws(MiniBatchError) in
            try a.train(try FileDataset(x: dir + "/bad.npy", y: dir + "/y.npy", options: read), options: options)
        }
        #expect(failure?.kind == .invalidArgument)
        #expect(failure?.message.contains("non-finite value (nan) at row 777, column 3") == true)
    }

    /// A file truncated while a member copies its rows from the file's mapping: the copy
    /// stops at the first page past the new end (SIGBUS, caught by `mbm_gather_mapped`'s
    /// guard, not the end of the process) and the rows are read with `pread`, which reports
    /// the change of size; so does `pread` itself without the mapping.
    @Test(arguments: [true, false])
    func aMemberReadingAShrunkFileStops(mapped: Bool) throws {
        let m = 1000, features = 40
        let (xp, yp) = writeIndexed(m: m, features: features)
        let options = mapped ? Self.streamed() : Self.preadOnly(Self.streamed())
        let data = try FileDataset(x: xp, y: yp, options: options)
        let partition = Partition(count: m, batchSize: 500, lastBatch: .keep)
        let source = try FileBatches(data, partition: partition, network: try Network(layerSizes: [features, 2]),
                                     seed: 9, shuffle: true, readers: 2)
        defer { source.finish() }
        #expect((source.xMapping != nil) == mapped)
        try source.startEpoch(0)
        let (x, _) = try source.batch(0)
        try source.fill(0, rows: 0..<500)
        for k in 0..<500 {
            #expect(x[k * features + 1] == Float(source.slotRows[0][k]) + 0.5)
        }
        let failedBefore = source.mappingFailed.load(ordering: .relaxed)
        #expect(!failedBefore)
        _ = try source.batch(1)
        #expect(truncate(xp, 200 * off_t(features * 4)) == 0)
        let failure = Fixture.failure { () throws(MiniBatchError) in try source.fill(1, rows: 0..<500) }
        #expect(failure?.kind == .io)
        #expect(failure?.message.contains("changed size") == true)
        let failedAfter = source.mappingFailed.load(ordering: .relaxed)
        #expect(failedAfter == mapped)
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

    /// Keep: members read the pools themselves, in pieces, between their batches. Release:
    /// a reader thread reads them ahead.
    @Test(arguments: [(64, 1 << 20), (256, 16384), (1 << 20, 1 << 20)])
    func distributedBlockOrderIsTheBlockShufflesOrder(blockBytes: Int, budget: Int) throws {
        // Distributed training reads a block-shuffled file as the exact shuffle does, in the
        // order the block shuffle computes without reading X: it must be the order one
        // process visits, every epoch, and each rank must read only the rows it fills.
        let m = 9001
        let (xp, yp) = writeIndexed(m: m)
        let data = try FileDataset(x: xp, y: yp, options: Self.streamed(FileReadOptions(shuffle: .block, blockBytes: blockBytes, memoryBudget: budget)))
        let network = try Network(layerSizes: [3, 2])
        let partition = Partition(count: m, batchSize: 50, lastBatch: .keep)
        let reference = try FileBatches(data, partition: partition, network: network, seed: 3, shuffle: true)
        let expected = [try visitOrder(reference, partition, epoch: 0), try visitOrder(reference, partition, epoch: 4)]
        reference.finish()
        let source = try FileBatches(data, partition: partition, network: network, seed: 3, shuffle: true, distributed: true)
        defer { source.finish() }
        #expect(source.blockOrderAsRows && source.membersFill)
        for (e, epoch) in [UInt64(0), 4].enumerated() {
            try source.startEpoch(epoch)
            var rows: [Int] = []
            for b in 0..<partition.batchCount {
                let count = partition.batch(b).count
                let (x, _) = try source.batch(b)
                // Only the second half is filled (another rank's first half is never read).
                try source.fill(b, rows: count / 2..<count)
                for k in 0..<count { rows.append(source.fileRow(batch: b, row: k)) }
                for k in count / 2..<count { #expect(Int(x[k * 3]) == rows[rows.count - count + k]) }
            }
            #expect(rows == expected[e])
        }
    }

    @Test(arguments: [FilePageCache.keep, .release])
    func blockMembersCopyFromPoolsThatStayUntilTheirBatchesTrain(_ pageCache: FilePageCache) throws {
        // Small blocks, many groups: pools are read while members copy late, and a pool must
        // not be overwritten while a batch still points into it.
        let m = 3000, features = 40
        let (xp, yp) = writeIndexed(m: m, features: features)
        let data = try FileDataset(x: xp, y: yp, options: Self.streamed(FileReadOptions(
            shuffle: .block, blockBytes: 20 * features * 4, memoryBudget: 300_000, pageCache: pageCache)))
        let partition = Partition(count: m, batchSize: 64, lastBatch: .keep)
        let network = try Network(layerSizes: [features, 2])
        #expect(try data.readerLayout(batchSize: 64).poolBlocks * 20 >= 64)
        let reference = try FileBatches(data, partition: partition, network: network, seed: 3, shuffle: true)
        let expected = [try visitOrder(reference, partition, epoch: 0, features: features),
                        try visitOrder(reference, partition, epoch: 1, features: features)]
        reference.finish()
        #expect(!reference.membersFill)
        let source = try FileBatches(data, partition: partition, network: network, seed: 3, shuffle: true, readers: 2)
        defer { source.finish() }
        #expect(source.membersFill)
        #expect(source.membersReadPools == (pageCache == .keep))
        for epoch in 0..<2 {
            try source.startEpoch(UInt64(epoch))
            var rows: [Int] = []
            for b in 0..<partition.batchCount {
                let count = partition.batch(b).count
                let (x, _) = try source.batch(b)
                usleep(300)  // the reader prepares the next batches meanwhile
                try source.fill(b, rows: count / 2..<count)
                try source.fill(b, rows: 0..<count / 2)
                for k in 0..<count {
                    rows.append(Int(x[k * features]))
                    #expect(x[k * features + features - 1] == x[k * features] + Float(features - 1) * 0.5)
                }
            }
            #expect(rows.count == expected[epoch].count)
            #expect(zip(rows, expected[epoch]).filter { $0 != $1 }.count == 0)
        }
        // Pools smaller than a batch: the reader copies the rows itself.
        let small = try FileBatches(data, partition: Partition(count: m, batchSize: 400, lastBatch: .keep),
                                    network: network, seed: 3, shuffle: true, readers: 2)
        small.finish()
        #expect(!small.membersFill)
    }

    @Test(arguments: [FilePageCache.keep, .release])
    func aTeamTrainingFromABlockShuffledFileEqualsTrainingOnTheVisitedOrder(_ pageCache: FilePageCache) throws {
        let m = 2048, features = 40
        let x = Fixture.uniform(m * features, seed: 21)
        let y = (0..<m).map { Int32(x[features * $0] > 0 ? 1 : 0) }
        NpyWriter.write(dir + "/x.npy", descr: "<f4", shape: [m, features], data: NpyWriter.floats(x))
        NpyWriter.write(dir + "/y.npy", descr: "|u1", shape: [m], data: NpyWriter.ints(y.map { UInt8($0) }))
        let data = try FileDataset(x: dir + "/x.npy", y: dir + "/y.npy", options: Self.streamed(FileReadOptions(
            shuffle: .block, blockBytes: 100 * features * 4, pageCache: pageCache)))
        let partition = Partition(count: m, batchSize: 256, lastBatch: .keep)
        let probe = try Network(layerSizes: [features, 2])
        let source = try FileBatches(data, partition: partition, network: probe, seed: 6, shuffle: true)
        var orders: [[Int]] = []
        for epoch in 0..<2 {
            try source.startEpoch(UInt64(epoch))
            var order: [Int] = []
            for b in 0..<partition.batchCount {
                _ = try source.batch(b)
                order += (0..<partition.batch(b).count).map { source.fileRow(batch: b, row: $0) }
            }
            orders.append(order)
        }
        source.finish()
        let options = TrainingOptions(epochs: 2, batchSize: .fixed(256), learningRate: 0.3, seed: 6, threads: 2)
        let a = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
        let b = try Network(layerSizes: [features, 16, 2], hiddenActivation: .tanh, seed: 2)
        #expect(TrainingStep.shards(rows: 256, network: a, team: 2) == 2)
        try a.train(data, options: options)
        for order in orders {
            try b.train(x: order.flatMap { Array(x[features * $0..<features * ($0 + 1)]) }, classes: order.map { y[$0] },
                        features: features, options: TrainingOptions(
                            epochs: 1, batchSize: .fixed(256), learningRate: 0.3, shuffle: false, threads: 2))
        }
        #expect(a.parameterArray == b.parameterArray)
    }

    /// Pages of `path` in the page cache (mincore over a mapping of the file).
    func residentPages(_ path: String) -> Int {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        fstat(fd, &info)
        let size = Int(info.st_size), page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0)!
        defer { munmap(map, size) }
        var flags = [UInt8](repeating: 0, count: (size + page - 1) / page)
        _ = mincore(map, size, &flags)
        return flags.reduce(0) { $0 + Int($1 & 1) }
    }

    @Test(arguments: [FilePageCache.keep, .release, .auto])
    func blockShuffleKeepsOrReleasesPages(_ pageCache: FilePageCache) throws {
        let m = 4000, features = 64
        let (xp, yp) = writeIndexed(m: m, features: features)
        let data = try FileDataset(x: xp, y: yp, options: Self.streamed(FileReadOptions(
            shuffle: .block, blockBytes: 64 << 10, pageCache: pageCache)))
        // Pages just written may be dirty or still queued for the LRU, which DONTNEED
        // skips: start from pages only read.
        evict(xp)
        let fd = open(xp, O_RDONLY)
        var bytes = [UInt8](repeating: 0, count: 1 << 21)
        _ = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        close(fd)
        let file = residentPages(xp) * Int(sysconf(Int32(_SC_PAGESIZE)))
        #expect(file >= m * features * 4)
        let network = try Network(layerSizes: [features, 4, 2])
        try network.train(data, options: TrainingOptions(epochs: 1, batchSize: .fixed(100), learningRate: 0.1))
        let left = residentPages(xp)
        if pageCache == .release {
            // Left: pages that blocks share with their neighbours (a block is 64 KiB but not
            // page-aligned, after the header), which the last of them releases only in part.
            #expect(left <= 2 * (m * features * 4 / (64 << 10) + 1))
        } else {
            // A 1 MB file is far below half of any machine's memory: auto keeps it.
            #expect(left * Int(sysconf(Int32(_SC_PAGESIZE))) >= m * features * 4)
        }
    }

    @Test func autoReleasesPagesOfFilesLargerThanHalfTheUsableMemory() {
        #expect(!FilePageCache.auto.releases(fileBytes: 100, usableMemory: 1000))
        #expect(!FilePageCache.auto.releases(fileBytes: 500, usableMemory: 1000))
        #expect(FilePageCache.auto.releases(fileBytes: 501, usableMemory: 1000))
        #expect(!FilePageCache.keep.releases(fileBytes: 5000, usableMemory: 1000))
        #expect(FilePageCache.release.releases(fileBytes: 1, usableMemory: 1000))
        let usable = SystemMemory.usable()
        #expect(usable > 0)
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        #expect(usable <= physical)
    }

    /// X is held where it fits the budget beside the reader's buffers and is at most half
    /// the usable memory; with no budget given, the budget for it is a quarter of the usable
    /// memory, past the automatic budget's 256 MiB cap.
    @Test func xIsHeldWithinTheBudgetAndHalfTheMemory() {
        #expect(FileDataset.holdsX(xBytes: 600, readerBytes: 400, budget: 1000, usableMemory: 1200))
        #expect(!FileDataset.holdsX(xBytes: 601, readerBytes: 400, budget: 1000, usableMemory: 1202))
        #expect(!FileDataset.holdsX(xBytes: 600, readerBytes: 400, budget: 1000, usableMemory: 1199))
        #expect(!FileDataset.holdsX(xBytes: Int.max, readerBytes: 1, budget: Int.max, usableMemory: Int.max))
        let usable = SystemMemory.usable()
        #expect(FileReadOptions.automaticHoldingBudget() == max(FileReadOptions.automaticBudget(), usable / 4))
        if usable >= 2 << 30 {
            #expect(FileReadOptions.automaticBudget() == 256 << 20)
            #expect(FileReadOptions.automaticHoldingBudget() == usable / 4)
        }
        // A dataset opened with no budget holds up to that quarter; one given the automatic
        // budget's value explicitly holds up to it alone.
        let m = 400, features = 8
        let x = Fixture.uniform(m * features, seed: 33)
        let xp = dir + "/x.npy", yp = dir + "/y.npy"
        NpyWriter.write(xp, descr: "<f4", shape: [m, features], data: NpyWriter.floats(x))
        NpyWriter.write(yp, descr: "<f4", shape: [m], data: NpyWriter.floats(Array(x[0..<m])))
        let layout = (rowsPerBlock: 1, blockCount: 1, poolBlocks: 1)
        let automatic = try? FileDataset(x: xp, y: yp)
        #expect(automatic?.options.budgetIsAutomatic == true)
        #expect(automatic?.heldRows(batchSize: 64, layout: layout) == m)
        let given = try? FileDataset(x: xp, y: yp, options: FileReadOptions(memoryBudget: m * features * 4))
        #expect(given?.options.budgetIsAutomatic == false)
        #expect(given?.heldRows(batchSize: 64, layout: layout) ?? m < m)
    }

    @Test func cgroupLimitsAreReadUpToTheRoot() {
        let files = [
            "/sys/fs/cgroup/memory/a/b/memory.limit_in_bytes": "9223372036854771712\n",
            "/sys/fs/cgroup/memory/a/memory.limit_in_bytes": "67108864\n",
            "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
            "/sys/fs/cgroup/c/memory.max": "max\n",
            "/sys/fs/cgroup/memory.max": "123456789\n",
        ]
        let read = { (path: String) -> String? in files[path] }
        // v1: the parent's 64 MiB limit bounds the child; other controllers are ignored.
        #expect(SystemMemory.cgroupLimit(groups: "12:cpu,cpuacct:/x\n7:memory:/a/b\n", read: read) == 64 << 20)
        // v2: "max" is no limit; the root's file counts.
        #expect(SystemMemory.cgroupLimit(groups: "0::/c\n", read: read) == 123_456_789)
        #expect(SystemMemory.cgroupLimit(groups: "0::/none\n", read: read) == 123_456_789)
        #expect(SystemMemory.cgroupLimit(groups: "", read: read) == nil)
        #expect(SystemMemory.cgroupLimit(groups: "garbage\n3:memory\n", read: read) == nil)
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
