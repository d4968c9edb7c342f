#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Elementary functions from the C library, under names that do not clash with the
// engine's own identifiers.
@usableFromInline func _log(_ x: Double) -> Double { log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { cos(x) }
@usableFromInline func _sin(_ x: Double) -> Double { sin(x) }
@usableFromInline func _exp(_ x: Float) -> Float { expf(x) }
@usableFromInline func _log(_ x: Float) -> Float { logf(x) }

/// log(1 + x) for x >= 0, to a few ulps, from one `logf`: log(u) * x / (u - 1) with
/// u = 1 + x cancels the rounding of u (Goldberg, "What every computer scientist should
/// know about floating-point arithmetic", theorem 4). Several times faster than log1pf.
@inline(__always)
func log1pNonNegative(_ x: Float) -> Float {
    let u = 1 + x
    return u == 1 ? x : logf(u) * (x / (u - 1))
}
@usableFromInline func _tanh(_ x: Float) -> Float { tanhf(x) }
@usableFromInline func _expm1(_ x: Float) -> Float { expm1f(x) }
@usableFromInline func _erfc(_ x: Float) -> Float { erfcf(x) }
@usableFromInline func _erfc(_ x: Double) -> Double { erfc(x) }
@usableFromInline func _expD(_ x: Double) -> Double { exp(x) }
