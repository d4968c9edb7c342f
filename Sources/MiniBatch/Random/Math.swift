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
@usableFromInline func _log1p(_ x: Float) -> Float { log1pf(x) }
@usableFromInline func _tanh(_ x: Float) -> Float { tanhf(x) }
@usableFromInline func _expD(_ x: Double) -> Double { exp(x) }
