// MARK: - Predicting from .npy files larger than memory

extension Network {
    /// The most bytes of X read at a time when predicting from a file: longer reads gain
    /// nothing, and a budget far larger than this is then not filled for no reason.
    static let predictionReadBytes = 16 << 20

    /// What predicting `m` rows of `rowBytes` bytes from a file holds: a chunk of rows of X
    /// and their outputs (`outputBytes` per row), and the activations of one pass
    /// (`chunkRows` rows) for each member that predicts (`Team.forEachChunk`; as many as
    /// `Team.chunkMembers` gives the file's passes, fewer where `budget` holds fewer
    /// activations beside a chunk of min(m, 256) rows). A chunk is a multiple of `chunkRows`
    /// rows (or all of them), so that every forward pass covers the rows in-memory `predict`
    /// gives it: the results are the same, bit for bit. Throws if `budget` cannot hold a
    /// chunk of min(m, 256) rows with one member's activations.
    func predictionPlan(
        rows m: Int, rowBytes: Int, outputBytes: Int, budget: Int, path: String
    ) throws(MiniBatchError) -> (chunkRows: Int, members: Int) {
        let passRows = min(m, Network.chunkRows)
        let activations = 4 * Workspace.floatCount(for: self, capacity: passRows, backward: false)
        let perRow = rowBytes + outputBytes
        let needed = activations + passRows * perRow
        guard budget >= needed else {
            throw .invalid("memory_budget \(budget) bytes is too small to predict from '\(path)': a chunk of \(passRows) rows (X, outputs and activations) needs at least \(needed) bytes")
        }
        let passes = passRows == 0 ? 0 : (m + passRows - 1) / passRows
        let members = max(1, min(Team.chunkMembers(passes), (budget - passRows * perRow) / max(activations, 1)))
        // (at least a pass per member where the budget holds it: rows wider than 64 KiB
        // would otherwise be read 256 at a time, one pass, on the calling thread alone)
        let fits = min((budget - members * activations) / perRow, max(passRows * members, Network.predictionReadBytes / rowBytes))
        return (fits >= m ? m : fits / Network.chunkRows * Network.chunkRows, members)
    }

    /// Reads X from `x` in order, a chunk at a time, and calls `body(first, rows, out)` with
    /// each chunk's outputs (`classes`: int32 classes, else float32 rows of nOut). Each
    /// chunk's forward passes are shared among threads (`Team.forEachChunk`).
    /// - Parameter releasesPages: drop each chunk's pages from the page cache once read.
    private func forEachPredictedChunk(
        _ x: NpyFile, classes: Bool, budget: Int, releasesPages: Bool,
        _ body: (_ first: Int, _ rows: Int, _ out: UnsafeRawPointer) throws(MiniBatchError) -> Void
    ) throws(MiniBatchError) {
        let m = x.rows, nIn = inputCount, outWidth = classes ? 1 : outputCount
        let (chunk, members) = try predictionPlan(
            rows: m, rowBytes: x.rowBytes, outputBytes: 4 * outWidth, budget: budget, path: x.path)
        let input = try allocate(Float.self, count: chunk * nIn, for: "a chunk of X", hugePages: true)  // (chunk, nIn)
        defer { deallocate(input) }
        let output = try allocate(Float.self, count: chunk * outWidth, for: "a chunk of outputs")  // (chunk, outWidth)
        defer { deallocate(output) }
        let passRows = min(m, Network.chunkRows)
        let workspaces = try chunkWorkspaces(members: members, rows: passRows)
        var first = 0
        while first < m {
            let rows = min(chunk, m - first)
            try x.readRows(first, count: rows, into: input)
            if releasesPages { x.release(first, count: rows) }
            if let bad = Validate.firstNonFinite(input, count: rows * nIn) {
                let at = NonFinite(input, features: nIn, at: bad)
                throw .invalid("X file '\(x.path)' has a non-finite value (\(at.value)) at row \(first + at.row), column \(at.column)")
            }
            let passes = (rows + passRows - 1) / passRows
            try Team.forEachChunk(passes, members: min(members, passes)) { (t, p) throws(MiniBatchError) in
                let start = p * passRows, n = min(passRows, rows - start)
                let logits = forward(input + start * nIn, rows: n, workspaces[t])
                if classes {
                    writeClasses(UnsafeMutableRawPointer(output).assumingMemoryBound(to: Int32.self) + start, logits: logits, rows: n)
                } else {
                    writeOutputs(output + start * outWidth, logits: logits, rows: n)
                }
                try checkOutputs(logits, rows: n, firstRow: first + start, in: x.path)
            }
            try body(first, rows, output)
            first += rows
        }
    }

    /// Checks that `x` holds inputs for this model: float32 (m, inputCount).
    private func checkInputs(_ x: NpyFile) throws(MiniBatchError) {
        guard x.type == .float32 else {
            throw .invalid("X file '\(x.path)' has dtype '\(x.type.rawValue)', which is not supported for X: features must be '<f4' (float32) (np.save(path, X.astype(np.float32)))")
        }
        guard x.shape.count == 2 else { throw .invalid("X file '\(x.path)' has shape \(x.shape); X must be 2-D (m, n_features)") }
        guard x.columns == inputCount else {
            throw .invalid("X file '\(x.path)' has \(x.columns) features but the model has \(inputCount) inputs")
        }
    }

    /// Predicts every row of the `.npy` file `x` (m, nIn), float32, reading it in order in
    /// chunks within `memoryBudget` bytes, and writes a `.npy` file of the results to
    /// `output`: float32 (m, nOut), the values `predict` gives, or with `classes` int32 (m),
    /// those of `predictClasses`. Bit-identical to predicting the rows in memory.
    ///
    /// The output is written sequentially under a temporary name beside it and renamed over
    /// `output` when complete (as a model file is saved); on any error nothing is left.
    /// X's pages are dropped from the page cache as they are read, and the output's as they
    /// are written, when X is larger than half the memory this process may use.
    /// - Parameters:
    ///   - memoryBudget: bytes for a chunk of X, its outputs and the activations of 256 rows;
    ///     0: `FileReadOptions.automaticBudget()`. It must hold a chunk of min(m, 256) rows.
    /// - Complexity: one sequential read of X, one sequential write of the output.
    public func predict(npy x: String, to output: String, classes: Bool, memoryBudget: Int = 0) throws(MiniBatchError) {
        guard !x.isEmpty else { throw .invalid("x_path is empty") }
        guard !output.isEmpty else { throw .invalid("out_path is empty") }
        guard memoryBudget >= 0 else { throw .invalid("memory_budget must be 0 (automatic) or positive, got \(memoryBudget)") }
        if classes { try checkPredictsClasses() }
        guard !File.same(x, output) else { throw .invalid("out_path '\(output)' is the X file itself: write the predictions to another file") }
        try File.checkTarget(output, "out_path")
        let budget = memoryBudget == 0 ? FileReadOptions.automaticBudget() : memoryBudget
        try access.read { () throws(MiniBatchError) in
            let file = try NpyFile(path: x, role: "X")
            try checkInputs(file)
            let m = file.rows
            let releasesPages = FilePageCache.auto.releases(fileBytes: file.expectedSize, usableMemory: SystemMemory.usable())
            _ = try predictionPlan(rows: m, rowBytes: file.rowBytes, outputBytes: classes ? 4 : 4 * outputCount, budget: budget, path: x)
            let out = try NpyOutput(
                path: output, type: classes ? .int32 : .float32, shape: classes ? [m] : [m, outputCount],
                releasesPages: releasesPages)
            try forEachPredictedChunk(file, classes: classes, budget: budget, releasesPages: releasesPages) {
                (_, rows, values) throws(MiniBatchError) in
                try out.append(values, rows: rows)
            }
            try out.commit()
        }
    }

    /// The outputs for every row of a file dataset's X, read in order within the dataset's
    /// memory budget, into `out` (m, nOut): the values `predict` gives for the same rows in
    /// memory, bit for bit. `out` holds at least m x nOut values; y is not read. Pages read
    /// are dropped as the dataset's `pageCache` says for files of X's size.
    public func predict(_ dataset: FileDataset, into out: UnsafeMutableBufferPointer<Float>) throws(MiniBatchError) {
        try predict(dataset, classes: false, into: UnsafeMutableRawPointer(out.baseAddress), capacity: out.count)
    }

    /// The predicted classes of every row of a file dataset's X into `out` (m), as
    /// `predictClasses` gives them in memory; `out` holds at least m values.
    public func predictClasses(_ dataset: FileDataset, into out: UnsafeMutableBufferPointer<Int32>) throws(MiniBatchError) {
        try checkPredictsClasses()
        try predict(dataset, classes: true, into: UnsafeMutableRawPointer(out.baseAddress), capacity: out.count)
    }

    /// `predict(_:into:)` into a new array (m x nOut values).
    public func predict(_ dataset: FileDataset) throws(MiniBatchError) -> [Float] {
        let count = try Validate.product(dataset.count, outputCount, "m x n_outputs")
        try Validate.fitsMemory(count, elementBytes: MemoryLayout<Float>.stride, "the outputs (m x n_outputs floats)")
        var failure: MiniBatchError? = nil
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(MiniBatchError) {
                try predict(dataset, into: buffer)
                initialized = count
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return values
    }

    /// `predictClasses(_:into:)` into a new array (m values).
    public func predictClasses(_ dataset: FileDataset) throws(MiniBatchError) -> [Int32] {
        try checkPredictsClasses()
        try Validate.fitsMemory(dataset.count, elementBytes: MemoryLayout<Int32>.stride, "the classes (m int32)")
        var failure: MiniBatchError? = nil
        let classes = [Int32](unsafeUninitializedCapacity: dataset.count) { buffer, initialized in
            do throws(MiniBatchError) {
                try predictClasses(dataset, into: buffer)
                initialized = dataset.count
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return classes
    }

    /// Into `capacity` 4-byte values at `out` (counted, not converted to bytes: a capacity
    /// of any size is compared, never multiplied).
    private func predict(
        _ dataset: FileDataset, classes: Bool, into base: UnsafeMutableRawPointer?, capacity: Int
    ) throws(MiniBatchError) {
        let width = classes ? 1 : outputCount
        let needed = try Validate.product(dataset.count, width, classes ? "m" : "m x n_outputs")
        guard capacity >= needed else {
            throw .invalid("capacity is \(capacity) but the dataset's \(classes ? "m" : "m x n_outputs") is \(needed)")
        }
        guard needed > 0 else { return }
        guard let out = base else { throw .invalid("out is NULL") }
        try access.read { () throws(MiniBatchError) in
            try checkInputs(dataset.x)
            dataset.releaseKept()  // the budget is the prediction's
            let releasesPages = dataset.options.pageCache.releases(
                fileBytes: dataset.x.expectedSize, usableMemory: SystemMemory.usable())
            try forEachPredictedChunk(dataset.x, classes: classes, budget: dataset.options.memoryBudget, releasesPages: releasesPages) {
                (first, rows, values) throws(MiniBatchError) in
                (out + 4 * first * width).copyMemory(from: values, byteCount: 4 * rows * width)
            }
        }
    }
}
