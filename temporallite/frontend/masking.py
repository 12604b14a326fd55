"""The real frontend's masking of unknown and internal errors.

Where the real server fails with a plain Go error, the client sees neither
that error nor its text, but UNKNOWN "something went wrong, please retry
(<hash>)"; the hash is FarmHash Fingerprint32 of the error as the masking
interceptor sees it ("rpc error: code = Unknown desc = <Go error text>"),
so the same failure gives the same answer on both servers.
"""

from __future__ import annotations

from temporallite.errors import Unknown

_M = 0xFFFFFFFF
_C1, _C2 = 0xCC9E2D51, 0x1B873593


def _rot(v: int, s: int) -> int:
    return v if s == 0 else ((v >> s) | (v << (32 - s))) & _M


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M
    return h ^ (h >> 16)


def _mur(a: int, h: int) -> int:
    a = (_rot((a * _C1) & _M, 17) * _C2) & _M
    h = _rot(h ^ a, 19)
    return (h * 5 + 0xE6546B64) & _M


def _fetch(s: bytes, i: int) -> int:
    return int.from_bytes(s[i:i + 4], "little")


def fingerprint32(s: bytes) -> int:
    """FarmHash Fingerprint32 (farmhashmk Hash32), as Go's go-farm computes it."""
    n = len(s)
    if n <= 4:
        b, c = 0, 9
        for byte in s:
            b = (b * _C1 + (byte - 256 if byte > 127 else byte)) & _M
            c ^= b
        return _fmix(_mur(b, _mur(n, c)))
    if n <= 12:
        a = (n + _fetch(s, 0)) & _M
        b = (n * 5 + _fetch(s, n - 4)) & _M
        c = (9 + _fetch(s, (n >> 1) & 4)) & _M
        return _fmix(_mur(c, _mur(b, _mur(a, n * 5))))
    if n <= 24:
        a, b, c = _fetch(s, (n >> 1) - 4), _fetch(s, 4), _fetch(s, n - 8)
        d, e, f = _fetch(s, n >> 1), _fetch(s, 0), _fetch(s, n - 4)
        h = (d * _C1 + n) & _M
        a = (_rot(a, 12) + f) & _M
        h = (_mur(c, h) + a) & _M
        a = (_rot(a, 3) + c) & _M
        h = (_mur(e, h) + a) & _M
        a = (_rot((a + f) & _M, 12) + d) & _M
        h = (_mur(b, h) + a) & _M
        return _fmix(h)
    return _hash_long(s, n)


def _mix(x: int) -> int:
    return (_rot((x * _C1) & _M, 17) * _C2) & _M


def _step(h: int, a: int) -> int:
    return (_rot(h ^ a, 19) * 5 + 0xE6546B64) & _M


def _hash_long(s: bytes, n: int) -> int:
    h, g = n, (_C1 * n) & _M
    f = g
    h = _step(_step(h, _mix(_fetch(s, n - 4))), _mix(_fetch(s, n - 16)))
    g = _step(_step(g, _mix(_fetch(s, n - 8))), _mix(_fetch(s, n - 12)))
    f = (_rot((f + _mix(_fetch(s, n - 20))) & _M, 19) + 113) & _M
    for i in range(0, (n - 1) // 20 * 20, 20):
        a, b, c = _fetch(s, i), _fetch(s, i + 4), _fetch(s, i + 8)
        d, e = _fetch(s, i + 12), _fetch(s, i + 16)
        h, g, f = (h + a) & _M, (g + b) & _M, (f + c) & _M
        h = (_mur(d, h) + e) & _M
        g = (_mur(c, g) + a) & _M
        f = (_mur((b + e * _C1) & _M, f) + d) & _M
        f = (f + g) & _M
        g = (g + f) & _M
    g = (_rot((_rot(g, 11) * _C1) & _M, 17) * _C1) & _M
    f = (_rot((_rot(f, 11) * _C1) & _M, 17) * _C1) & _M
    for x in (g, f):
        h = (_rot((_rot((h + x) & _M, 19) * 5 + 0xE6546B64) & _M, 17) * _C1) & _M
    return h


def masked(go_error: str) -> Unknown:
    """The error the client sees for a plain Go error on the real server."""
    digest = fingerprint32(f"rpc error: code = Unknown desc = {go_error}".encode())
    return Unknown(f"something went wrong, please retry ({digest:08x})")
