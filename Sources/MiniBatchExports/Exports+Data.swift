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

@c @implementation
public func mb_shuffle(
    _ x: UnsafeMutableRawPointer?, _ x_row_bytes: Int, _ y: UnsafeMutableRawPointer?, _ y_row_bytes: Int,
    _ m: Int64, _ seed: UInt64, _ epoch: UInt64
) -> mb_status {
    run { () throws(MiniBatchError) in
        // The sizes and overlaps are checked by Shuffle (Validate.shuffle).
        try Shuffle.inPlace(try required(x, "x"), xRowBytes: x_row_bytes, y, yRowBytes: y_row_bytes,
                            count: Int(m), seed: seed, epoch: epoch)
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
        try Shuffle.into(xOut, y_out, x, xRowBytes: x_row_bytes, y, yRowBytes: y_row_bytes,
                         count: Int(m), seed: seed, epoch: epoch)
    }
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
