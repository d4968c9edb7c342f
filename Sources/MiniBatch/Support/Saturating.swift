/// Saturating arithmetic on counts and byte sizes: a result past `Int.max` is `Int.max`.
extension Int {
    /// `self + other`, or `Int.max` where that overflows. The counters training keeps over a
    /// network's life (epochs, examples, the rule's steps, epochs without improvement) add
    /// this way: a model file may hold any count up to `Int.max` (a crafted one held
    /// `Int.max`, and the next epoch trapped), and `epochs` may be up to `Int.max` on a
    /// network that has trained before. A count that reaches `Int.max` stays there.
    package func addingSaturated(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? Int.max : Int.min) : sum
    }

    /// `self * other` for sizes (both >= 0), or `Int.max` where that overflows: the bytes a
    /// reader or a shuffle would need for files whose shapes are valid but near the limits
    /// (a sparse file of 2^62 bytes opens), compared with a budget or the memory there is,
    /// which such a size then never fits (a product that overflowed trapped).
    func multipliedSaturated(_ other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? Int.max : product
    }
}
