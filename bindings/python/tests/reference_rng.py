"""The generator contract of minibatch.h re-implemented in pure Python (for the tests).

splitmix64, mix, stream(seed, s), xoshiro256**, below(n) (Lemire with rejection),
permutation(m, seed, epoch) (Fisher-Yates from the top), and the Box-Muller draws of the
initial weights, exactly as the header's comments specify.
"""

from __future__ import annotations

import math

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
STREAM_INIT = M64


class SplitMix64:
    def __init__(self, state: int) -> None:
        self.x = state & M64

    def next(self) -> int:
        self.x = (self.x + GOLDEN) & M64
        z = self.x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)


def mix(v: int) -> int:
    return SplitMix64(v).next()


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & M64


class Xoshiro256ss:
    def __init__(self, seed: int, stream: int) -> None:
        key = mix(mix(seed) ^ (stream & M64))
        sm = SplitMix64(key)
        self.s = [sm.next() for _ in range(4)]

    def next(self) -> int:
        s = self.s
        result = (_rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 45)
        return result

    def below(self, n: int) -> int:
        r = self.next()
        p = r * n
        lo = p & M64
        if lo < n:
            t = ((1 << 64) - n) % n
            while lo < t:
                r = self.next()
                p = r * n
                lo = p & M64
        return p >> 64

    def uniform(self) -> float:
        return (self.next() >> 11) * 2.0**-53


def random(seed: int, stream: int, count: int) -> list[int]:
    g = Xoshiro256ss(seed, stream)
    return [g.next() for _ in range(count)]


def permutation(m: int, seed: int, epoch: int) -> list[int]:
    perm = list(range(m))
    g = Xoshiro256ss(seed, epoch)
    for i in range(m - 1, 0, -1):
        j = g.below(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def normals(seed: int, count: int) -> list[float]:
    """Standard normal draws from stream (seed, MB_STREAM_INIT) by Box-Muller on pairs of
    uniforms (u1, u2): r cos(2 pi u2), then r sin(2 pi u2), r = sqrt(-2 ln(1 - u1)).

    The header does not say which form of Box-Muller; the library uses ln(1 - u1) (which
    never takes the log of 0, since u1 < 1), found by comparison and pinned here."""
    g = Xoshiro256ss(seed, STREAM_INIT)
    out: list[float] = []
    while len(out) < count:
        u1 = g.uniform()
        u2 = g.uniform()
        r = math.sqrt(-2.0 * math.log(1.0 - u1))
        out.append(r * math.cos(2 * math.pi * u2))
        out.append(r * math.sin(2 * math.pi * u2))
    return out[:count]
