import CMiniBatch
import MiniBatch

// MARK: - Random generator, permutation, shuffle, partition, built-in data

@c @implementation
public func mb_random(_ seed: UInt64, _ stream: UInt64, _ out: UnsafeMutablePointer<UInt64>?, _ count: Int64) -> mb_status {
    run { () throws(MiniBatchError) in
        let out = try required(out, "out")
        try Validate.count(Int(count), "count", elementBytes: 8)
        var generator = Generator(seed: seed, stream: stream)
        for i in 0..<Int(count) { out[i] = generator.next() }
    }
}

@c @implementation
public func mb_permutation(_ m: Int64, _ seed: UInt64, _ epoch: UInt64, _ perm: UnsafeMutablePointer<Int64>?) -> mb_status {
    run { () throws(MiniBatchError) in
        let perm = try required(perm, "perm")
        try Validate.count(Int(m), "m", elementBytes: 8)
        // Int64 and Int are the same width on the 64-bit platforms the library supports.
        perm.withMemoryRebound(to: Int.self, capacity: Int(m)) {
            Permutation.fill(UnsafeMutableBufferPointer(start: $0, count: Int(m)), seed: seed, epoch: epoch)
        }
    }
}

/// Checks the row widths and sizes of a shuffle; returns the byte lengths of X and y.
private func shuffleSizes(
    _ xRowBytes: Int, _ y: UnsafeRawPointer?, _ yRowBytes: Int, _ m: Int64
) throws(MiniBatchError) -> (Int, Int) {
    try Validate.count(Int(m), "m")
    guard xRowBytes >= 1 else { throw .init(.invalidArgument, "x_row_bytes must be positive, got \(xRowBytes)") }
    if y == nil {
        guard yRowBytes == 0 else { throw .init(.invalidArgument, "y is NULL but y_row_bytes is \(yRowBytes) (must be 0)") }
    } else {
        guard yRowBytes >= 1 else { throw .init(.invalidArgument, "y_row_bytes must be positive when y is given, got \(yRowBytes)") }
    }
    return (try Validate.product(Int(m), xRowBytes, "x (m x x_row_bytes)"),
            try Validate.product(Int(m), yRowBytes, "y (m x y_row_bytes)"))
}

@c @implementation
public func mb_shuffle(
    _ x: UnsafeMutableRawPointer?, _ x_row_bytes: Int, _ y: UnsafeMutableRawPointer?, _ y_row_bytes: Int,
    _ m: Int64, _ seed: UInt64, _ epoch: UInt64
) -> mb_status {
    run { () throws(MiniBatchError) in
        let x = try required(x, "x")
        let (xBytes, yBytes) = try shuffleSizes(x_row_bytes, y, y_row_bytes, m)
        if let y, overlaps(x, xBytes, y, yBytes) { throw .init(.invalidArgument, "x and y overlap") }
        try Shuffle.inPlace(x, xRowBytes: x_row_bytes, y, yRowBytes: y_row_bytes, count: Int(m), seed: seed, epoch: epoch)
    }
}

@c @implementation
public func mb_shuffle_into(
    _ x: UnsafeRawPointer?, _ x_row_bytes: Int, _ y: UnsafeRawPointer?, _ y_row_bytes: Int,
    _ m: Int64, _ seed: UInt64, _ epoch: UInt64,
    _ x_out: UnsafeMutableRawPointer?, _ y_out: UnsafeMutableRawPointer?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let x = try required(x, "x")
        let xOut = try required(x_out, "x_out")
        guard (y == nil) == (y_out == nil) else {
            throw .init(.invalidArgument, y == nil ? "y is NULL but y_out is not" : "y_out is NULL but y is not")
        }
        let (xBytes, yBytes) = try shuffleSizes(x_row_bytes, y, y_row_bytes, m)
        var regions = [(UnsafeRawPointer(xOut), xBytes, "x_out")]
        if let y_out { regions.append((UnsafeRawPointer(y_out), yBytes, "y_out")) }
        var inputs = [(x, xBytes, "x")]
        if let y { inputs.append((y, yBytes, "y")) }
        for (out, outBytes, outName) in regions {
            for (input, inputBytes, inputName) in inputs where overlaps(out, outBytes, input, inputBytes) {
                throw .init(.invalidArgument, "\(outName) overlaps \(inputName) (use mb_shuffle to shuffle in place)")
            }
        }
        if regions.count == 2, overlaps(regions[0].0, xBytes, regions[1].0, yBytes) {
            throw .init(.invalidArgument, "x_out and y_out overlap")
        }
        try Shuffle.into(xOut, y_out, x, xRowBytes: x_row_bytes, y, yRowBytes: y_row_bytes,
                         count: Int(m), seed: seed, epoch: epoch)
    }
}

/// Whether two byte ranges share a byte.
private func overlaps(_ a: UnsafeRawPointer, _ aBytes: Int, _ b: UnsafeRawPointer, _ bBytes: Int) -> Bool {
    a < b + bBytes && b < a + aBytes
}

@c @implementation
public func mb_partition(
    _ m: Int64, _ batch_size: Int64, _ last_batch: mb_last_batch,
    _ starts: UnsafeMutablePointer<Int64>?, _ counts: UnsafeMutablePointer<Int64>?, _ capacity: Int64,
    _ n_batches: UnsafeMutablePointer<Int64>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        let nBatches = try required(n_batches, "n_batches")
        try Validate.count(Int(m), "m")
        try Validate.batchSize(Int(batch_size), count: Int(m))
        let partition = Partition(count: Int(m), batchSize: Int(batch_size), lastBatch: try convert(last_batch))
        guard (starts == nil) == (counts == nil) else {
            throw .init(.invalidArgument, starts == nil ? "starts is NULL but counts is not" : "counts is NULL but starts is not")
        }
        let count = partition.batchCount
        if let starts, let counts {
            guard capacity >= count else {
                throw .init(.invalidArgument, "capacity \(capacity) is smaller than the number of batches (\(count))")
            }
            for i in 0..<count {
                let rows = partition.batch(i)
                starts[i] = Int64(rows.lowerBound)
                counts[i] = Int64(rows.count)
            }
        }
        nBatches.pointee = Int64(count)
    }
}

@c @implementation
public func mb_make_moons(
    _ m: Int64, _ noise: Float, _ seed: UInt64, _ x: UnsafeMutablePointer<Float>?, _ y: UnsafeMutablePointer<Int32>?
) -> mb_status {
    run { () throws(MiniBatchError) in
        try Moons.generate(x: try required(x, "x"), y: try required(y, "y"), count: Int(m), noise: noise, seed: seed)
    }
}
