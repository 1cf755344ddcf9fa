#!/usr/bin/env python3
"""Independent reference implementation of ramp's bucketing algorithm "ramp-v1".

Pure Python 3.11, standard library only. It contains a from-scratch xxHash64 (XXH64) so that it does not share
a single line of code with the Go implementation it checks. The algorithm is specified in docs/bucketing.md:

    input  = u32be(len(salt_utf8)) || salt_utf8 || u32be(len(value_utf8)) || value_utf8
    h      = XXH64(input, seed=0)
    bucket = (h * 100000) >> 64            # floor(h * 100000 / 2**64), in [0, 100000)

A split walks its weights in list order with cumulative units (weight * 1000, three decimals at most) and serves
the first variation whose cumulative sum is greater than the bucket.

Usage:
    python3 testdata/spec/reference/bucketing.py selftest          # xxHash64 and bucketing self-checks
    python3 testdata/spec/reference/bucketing.py generate [PATH]   # (re)write testdata/spec/bucketing.json
    python3 testdata/spec/reference/bucketing.py hash SALT VALUE   # print hash, bucket
    python3 testdata/spec/reference/bucketing.py split SALT VALUE on=10 off=90
"""

from __future__ import annotations

import json
import os
import struct
import sys
from decimal import Decimal

# ---------------------------------------------------------------------------------------------------------------
# xxHash64, written from the specification (https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md).

MASK64 = (1 << 64) - 1
P1 = 0x9E3779B185EBCA87
P2 = 0xC2B2AE3D27D4EB4F
P3 = 0x165667B19E3779F9
P4 = 0x85EBCA77C2B2AE63
P5 = 0x27D4EB2F165667C5


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & MASK64


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * P2) & MASK64
    acc = _rotl(acc, 31)
    return (acc * P1) & MASK64


def _merge(acc: int, val: int) -> int:
    acc ^= _round(0, val)
    return (acc * P1 + P4) & MASK64


def xxh64(data: bytes, seed: int = 0) -> int:
    """XXH64 of data with the given seed, as an unsigned 64-bit integer."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + P1 + P2) & MASK64
        v2 = (seed + P2) & MASK64
        v3 = seed & MASK64
        v4 = (seed - P1) & MASK64
        limit = n - 32
        while i <= limit:
            a, b, c, d = struct.unpack_from("<4Q", data, i)
            v1 = _round(v1, a)
            v2 = _round(v2, b)
            v3 = _round(v3, c)
            v4 = _round(v4, d)
            i += 32
        acc = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & MASK64
        acc = _merge(acc, v1)
        acc = _merge(acc, v2)
        acc = _merge(acc, v3)
        acc = _merge(acc, v4)
    else:
        acc = (seed + P5) & MASK64
    acc = (acc + n) & MASK64
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        acc ^= _round(0, lane)
        acc = (_rotl(acc, 27) * P1 + P4) & MASK64
        i += 8
    if i + 4 <= n:
        (lane,) = struct.unpack_from("<I", data, i)
        acc ^= (lane * P1) & MASK64
        acc = (_rotl(acc, 23) * P2 + P3) & MASK64
        i += 4
    while i < n:
        acc ^= (data[i] * P5) & MASK64
        acc = (_rotl(acc, 11) * P1) & MASK64
        i += 1
    acc ^= acc >> 33
    acc = (acc * P2) & MASK64
    acc ^= acc >> 29
    acc = (acc * P3) & MASK64
    acc ^= acc >> 32
    return acc


# Official / widely published XXH64 values (seed 0 unless given).
XXH64_VECTORS = [
    (b"", 0, 0xEF46DB3751D8E999),
    (b"a", 0, 0xD24EC4F1A98C6E5B),
    (b"abc", 0, 0x44BC2CF5AD770999),
    (b"xxhash", 0, 0x32DD38952C4BC720),
    (b"xxhash", 20141025, 0xB559B98D844E0635),
    (b"Nobody inspects the spammish repetition", 0, 0xFBCEA83C8A378BF1),
]

# ---------------------------------------------------------------------------------------------------------------
# ramp-v1

ALGORITHM = "ramp-v1"
BUCKETS = 100_000


def hash_input(salt: str, value: str) -> bytes:
    s = salt.encode("utf-8")
    v = value.encode("utf-8")
    return struct.pack(">I", len(s)) + s + struct.pack(">I", len(v)) + v


def ramp_hash(salt: str, value: str) -> int:
    return xxh64(hash_input(salt, value), 0)


def bucket_of_hash(h: int) -> int:
    return (h * BUCKETS) >> 64


def bucket(salt: str, value: str) -> int:
    return bucket_of_hash(ramp_hash(salt, value))


def format_number(x: float) -> str:
    """The decimal form of a number, as Go's strconv.FormatFloat(x, 'f', -1, 64): shortest round-trip digits,
    never an exponent, no trailing ".0" (42 -> "42", 1.5 -> "1.5", 1e21 -> "1000000000000000000000")."""
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    d = Decimal(repr(x))  # repr is the shortest round-trip form
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    if s == "0" and str(x).startswith("-"):
        return "-0"
    return s


def bucketing_value(v) -> str | None:
    """The string hashed for a context value, or None when it cannot be bucketed (bool, list, object, null)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return format_number(v)
    return None


def units(weight) -> int:
    """A weight in percent (at most three decimals) in buckets."""
    u = Decimal(str(weight)) * 1000
    if u != u.to_integral_value():
        raise ValueError(f"weight {weight} has more than three decimals")
    return int(u)


def choose(bucket_: int, weights) -> str:
    """The variation a bucket falls into: weights is [[variation, percent], ...] in list order."""
    cum = 0
    for variation, w in weights:
        cum += units(w)
        if cum > bucket_:
            return variation
    raise ValueError("weights do not cover the bucket (do they add up to 100?)")


def split(salt: str, value: str, weights) -> str:
    return choose(bucket(salt, value), weights)


# ---------------------------------------------------------------------------------------------------------------
# Golden vectors

def long_value() -> str:
    # 2400 comma-terminated five-digit numbers: 14,400 bytes, deterministic.
    return "".join(f"{i:05d}," for i in range(2400))


BUCKET_ROWS = [
    # name, salt, value
    ("ascii user id", "new-ai-assistant", "user-1"),
    ("ascii user id 2", "new-ai-assistant", "user-2"),
    ("ascii user id 3", "new-ai-assistant", "user-3"),
    ("ascii user id 10", "new-ai-assistant", "user-10"),
    ("ascii user id 100", "new-ai-assistant", "user-100"),
    ("uuid value", "new-ai-assistant", "6f1c2b1e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"),
    ("email value", "new-ai-assistant", "maria.silva@example.com.br"),
    ("other salt, same value", "checkout-redesign", "user-1"),
    ("salt differs only by case", "New-AI-Assistant", "user-1"),
    ("value differs only by case", "new-ai-assistant", "USER-1"),
    ("empty value", "new-ai-assistant", ""),
    ("empty salt", "", "user-1"),
    ("empty salt and value", "", ""),
    ("single char", "s", "v"),
    ("concatenation: salt ab + value c", "ab", "c"),
    ("concatenation: salt a + value bc", "a", "bc"),
    ("concatenation: salt abc + empty value", "abc", ""),
    ("concatenation: empty salt + value abc", "", "abc"),
    ("NUL inside value", "new-ai-assistant", "user\u00001"),
    ("NUL only value", "new-ai-assistant", "\u0000"),
    ("four NUL value", "new-ai-assistant", "\u0000\u0000\u0000\u0000"),
    ("length-prefix lookalike in salt", "a\u0000\u0000\u0000\u0001b", ""),
    ("length-prefix lookalike: real split a|b", "a", "b"),
    ("would-be separator bytes in value", "flag", "\u0000\u0000\u0000\u0005hello"),
    ("would-be separator bytes spread over salt and value", "flag\u0000\u0000\u0000\u0005", "hello"),
    ("value with trailing NUL", "new-ai-assistant", "user-1\u0000"),
    ("precomposed e-acute (NFC)", "new-ai-assistant", "Jos\u00e9"),
    ("e + combining acute (NFD)", "new-ai-assistant", "Jose\u0301"),
    ("precomposed a-tilde", "new-ai-assistant", "S\u00e3o Paulo"),
    ("a + combining tilde", "new-ai-assistant", "Sa\u0303o Paulo"),
    ("emoji", "new-ai-assistant", "\U0001F680"),
    ("emoji ZWJ family", "new-ai-assistant", "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"),
    ("emoji ZWJ parts without joiners", "new-ai-assistant", "\U0001F468\U0001F469\U0001F467\U0001F466"),
    ("flag emoji Brazil", "new-ai-assistant", "\U0001F1E7\U0001F1F7"),
    ("flag emoji Portugal", "new-ai-assistant", "\U0001F1F5\U0001F1F9"),
    ("emoji with skin tone", "new-ai-assistant", "\U0001F44D\U0001F3FD"),
    ("emoji in salt", "\U0001F680-launch", "user-1"),
    ("CJK Chinese", "new-ai-assistant", "\u7528\u6237\u4e00"),
    ("CJK Japanese", "new-ai-assistant", "\u30e6\u30fc\u30b6\u30fc"),
    ("Korean Hangul", "new-ai-assistant", "\uc0ac\uc6a9\uc790"),
    ("right-to-left Hebrew", "new-ai-assistant", "\u05de\u05e9\u05ea\u05de\u05e9"),
    ("right-to-left Arabic", "new-ai-assistant", "\u0645\u0633\u062a\u062e\u062f\u0645"),
    ("RTL mark inside value", "new-ai-assistant", "user\u200f-1"),
    ("Cyrillic lookalike of user-1", "new-ai-assistant", "\u0443ser-1"),
    ("numeric-looking integer", "new-ai-assistant", "42"),
    ("numeric-looking with .0", "new-ai-assistant", "42.0"),
    ("numeric-looking leading zero", "new-ai-assistant", "042"),
    ("numeric-looking decimal", "new-ai-assistant", "1.5"),
    ("numeric-looking negative", "new-ai-assistant", "-3"),
    ("numeric-looking exponent", "new-ai-assistant", "1e3"),
    ("numeric-looking large", "new-ai-assistant", "18446744073709551615"),
    ("boolean-looking", "new-ai-assistant", "true"),
    ("single space", "new-ai-assistant", " "),
    ("leading space", "new-ai-assistant", " user-1"),
    ("trailing space", "new-ai-assistant", "user-1 "),
    ("tab and newline", "new-ai-assistant", "user\t1\n"),
    ("CRLF", "new-ai-assistant", "\r\n"),
    ("no-break space", "new-ai-assistant", "user\u00a01"),
    ("salt with spaces", "new ai assistant", "user-1"),
    ("value exactly 31 bytes", "x", "abcdefghijklmnopqrstuvwxyz01234"),
    ("value exactly 32 bytes", "x", "abcdefghijklmnopqrstuvwxyz012345"),
    ("input exactly 32 bytes", "abcdefghijkl", "mnopqrstuvwx"),
    ("value 100 bytes", "new-ai-assistant", "0123456789" * 10),
    ("long salt", "s" * 300, "user-1"),
    ("very long value (14,400 bytes)", "new-ai-assistant", None),
    ("very long value with one byte changed", "new-ai-assistant", "LONG_CHANGED"),
]

NUMBER_ROWS = [0, 42, 42.0, 1.5, -3, 0.1, 100, 1e21, 1e-7, 123456789012, 3.14159, -0.5, 2 ** 53]

# (salt, value, weights, note)
SPLIT_ROWS = [
    ("new-ai-assistant", "user-1", [["on", 10], ["off", 90]], "the rollout: 10 % on"),
    ("new-ai-assistant", "user-2", [["on", 10], ["off", 90]], ""),
    ("new-ai-assistant", "user-3", [["on", 10], ["off", 90]], ""),
    ("new-ai-assistant", "user-10", [["on", 10], ["off", 90]], ""),
    ("new-ai-assistant", "user-100", [["on", 10], ["off", 90]], ""),
    ("new-ai-assistant", "user-1", [["on", 100], ["off", 0]], "100 % on"),
    ("new-ai-assistant", "user-1", [["on", 0], ["off", 100]], "0 % on: never served"),
    ("new-ai-assistant", "user-2", [["off", 0], ["on", 100], ["beta", 0]], "0-weight variations around a 100 % one"),
    ("checkout-redesign", "user-1", [["control", 33.333], ["a", 33.333], ["b", 33.334]], "three-way"),
    ("checkout-redesign", "user-2", [["control", 33.333], ["a", 33.333], ["b", 33.334]], "three-way"),
    ("checkout-redesign", "user-3", [["control", 33.333], ["a", 33.333], ["b", 33.334]], "three-way"),
    ("checkout-redesign", "user-4", [["control", 33.333], ["a", 33.333], ["b", 33.334]], "three-way"),
]


def _boundary_rows():
    """Splits whose boundary sits exactly on, or one past, a context's bucket."""
    rows = []
    for salt, value in [("new-ai-assistant", "user-1"), ("new-ai-assistant", "user-2"), ("checkout-redesign", "user-3")]:
        b = bucket(salt, value)
        w_at = Decimal(b) / 1000
        w_past = Decimal(b + 1) / 1000
        rows.append((salt, value, [["on", _num(w_at)], ["off", _num(100 - w_at)]],
                     f"bucket {b} equals the first cumulative sum {b}: not served (cumulative must be > bucket)"))
        rows.append((salt, value, [["on", _num(w_past)], ["off", _num(100 - w_past)]],
                     f"bucket {b} is one below the first cumulative sum {b + 1}: served"))
    # 0.001 % weights: exactly one bucket each.
    salt, value = "new-ai-assistant", "user-1"
    b = bucket(salt, value)
    w_before = Decimal(b) / 1000
    rows.append((salt, value, [["off", _num(w_before)], ["on", 0.001], ["beta", _num(100 - w_before - Decimal("0.001"))]],
                 f"a 0.001 % weight owning exactly bucket {b}"))
    rows.append((salt, value, [["off", _num(w_before + Decimal("0.001"))], ["on", 0.001],
                               ["beta", _num(100 - w_before - Decimal("0.002"))]],
                 f"a 0.001 % weight owning bucket {b + 1}, one past the context's bucket"))
    rows.append((salt, value, [["on", 0.001], ["off", 99.999]], "0.001 % on (only bucket 0)"))
    rows.append((salt, value, [["on", 99.999], ["off", 0.001]], "0.001 % off (only bucket 99999)"))
    return rows


def _num(d: Decimal):
    d = Decimal(d)
    return int(d) if d == d.to_integral_value() else float(d)


def _value_of(v):
    if v is None:
        return long_value()
    if v == "LONG_CHANGED":
        lv = long_value()
        return lv[:7000] + "X" + lv[7001:]
    return v


def generate() -> dict:
    rows = []
    names = set()
    for name, salt, value in BUCKET_ROWS:
        assert name not in names, name
        names.add(name)
        value = _value_of(value)
        h = ramp_hash(salt, value)
        rows.append({"name": name, "salt": salt, "value": value, "hash": f"{h:016x}", "bucket": bucket_of_hash(h)})
    numbers = []
    for x in NUMBER_ROWS:
        s = format_number(x)
        h = ramp_hash("new-ai-assistant", s)
        numbers.append({"number": x, "formatted": s, "salt": "new-ai-assistant", "hash": f"{h:016x}",
                        "bucket": bucket_of_hash(h)})
    splits = []
    for salt, value, weights, note in SPLIT_ROWS + _boundary_rows():
        assert sum(units(w) for _, w in weights) == BUCKETS, weights
        row = {"salt": salt, "value": value, "weights": weights, "bucket": bucket(salt, value),
               "variant": split(salt, value, weights)}
        if note:
            row["note"] = note
        splits.append(row)
    return {
        "description": "Golden vectors for ramp's bucketing algorithm ramp-v1 (docs/bucketing.md). Generated by "
                       "testdata/spec/reference/bucketing.py generate; do not edit by hand. hash is XXH64 (seed 0) of "
                       "u32be(len(salt)) || salt || u32be(len(value)) || value as 16 lowercase hex digits; bucket is "
                       "(hash * 100000) >> 64. numbers shows how numeric context values are turned into the hashed "
                       "string. splits shows variant selection: cumulative weight units (percent * 1000) in list "
                       "order, first cumulative sum > bucket wins.",
        "algorithm": ALGORITHM,
        "buckets": BUCKETS,
        "vectors": rows,
        "numbers": numbers,
        "splits": splits,
    }


def selftest() -> None:
    for data, seed, want in XXH64_VECTORS:
        got = xxh64(data, seed)
        assert got == want, f"XXH64({data!r}, {seed}) = {got:016x}, want {want:016x}"
    assert hash_input("ab", "c") != hash_input("a", "bc")
    assert bucket_of_hash(0) == 0 and bucket_of_hash(MASK64) == BUCKETS - 1
    assert format_number(42.0) == "42" and format_number(1.5) == "1.5" and format_number(-3) == "-3"
    assert format_number(1e21) == "1000000000000000000000" and format_number(1e-7) == "0.0000001"
    assert choose(9999, [["on", 10], ["off", 90]]) == "on"
    assert choose(10000, [["on", 10], ["off", 90]]) == "off"
    assert choose(0, [["a", 0], ["b", 100]]) == "b"
    print("ok")


def main(argv: list[str]) -> int:
    cmd = argv[1] if len(argv) > 1 else "generate"
    if cmd == "selftest":
        selftest()
    elif cmd == "generate":
        selftest()
        here = os.path.dirname(os.path.abspath(__file__))
        path = argv[2] if len(argv) > 2 else os.path.join(here, "..", "bucketing.json")
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            json.dump(generate(), f, ensure_ascii=True, indent=2)
            f.write("\n")
        print(f"wrote {os.path.normpath(path)}")
    elif cmd == "hash":
        h = ramp_hash(argv[2], argv[3])
        print(f"{h:016x} {bucket_of_hash(h)}")
    elif cmd == "split":
        weights = [[kv.split("=")[0], float(kv.split("=")[1])] for kv in argv[4:]]
        b = bucket(argv[2], argv[3])
        print(b, choose(b, weights))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
