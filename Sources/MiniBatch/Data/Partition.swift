/// What happens to the last batch when the batch size does not divide m.
public enum LastBatch: Int, Sendable {
    /// Keep it: ceil(m / batchSize) batches, the last smaller; its cost is the mean over the
    /// examples it actually has.
    case keep = 0
    /// Drop it: floor(m / batchSize) batches, all full.
    case drop = 1
}

/// The mini-batches of m shuffled examples: batch i covers rows
/// `i * batchSize ..< min((i + 1) * batchSize, m)`. The package's own (its sizes are checked
/// by its callers, `Validate.batchSize`); users have `mb_partition` and training.
package struct Partition: Sendable, Equatable {
    package let count: Int
    package let batchSize: Int
    package let lastBatch: LastBatch

    /// - Precondition: validated by `Validate.batchSize` (1 <= batchSize <= count).
    package init(count: Int, batchSize: Int, lastBatch: LastBatch) {
        self.count = count
        self.batchSize = batchSize
        self.lastBatch = lastBatch
    }

    /// The number of batches.
    package var batchCount: Int {
        switch lastBatch {
        // Without count + batchSize - 1, which overflows for m near Int.max.
        case .keep: return count / batchSize + (count % batchSize == 0 ? 0 : 1)
        case .drop: return count / batchSize
        }
    }

    /// One batch of all rows (batch gradient descent): its gradient does not depend on the
    /// order of the rows (up to rounding), so training uses them in their stored order.
    package var isWholeBatch: Bool { batchSize == count }

    /// The rows of batch `index` in the shuffled order.
    package func batch(_ index: Int) -> Range<Int> {
        let start = index * batchSize
        return start..<(start + min(batchSize, count - start))
    }

    /// All batches, in order.
    package var batches: [Range<Int>] { (0..<batchCount).map(batch) }
}
