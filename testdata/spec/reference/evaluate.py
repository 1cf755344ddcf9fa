#!/usr/bin/env python3
"""Independent reference evaluator for ramp flag sets, written from the semantics in docs/flags.md.

Pure Python 3.11, standard library only. It exists to cross-check the spec vectors in testdata/spec/*.json (and
so any implementation that passes them); it is not a product. It does not validate sets (flag/validate.go does).

Usage:
    python3 testdata/spec/reference/evaluate.py check [FILE ...]    # evaluate every case, report mismatches
    python3 testdata/spec/reference/evaluate.py eval FILE FLAG 'CONTEXT-JSON' [TYPE]

Known limits of this reference: regular expressions use Python's re module, so spec patterns stick to the
common subset of RE2 and Python syntax; case-insensitive equality uses str.casefold (full Unicode folding),
so spec data avoids characters such as "ß" whose simple and full case foldings differ.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bucketing  # noqa: E402

MISSING = object()


# --- context paths ----------------------------------------------------------------------------------------------

def lookup(ctx: dict, path: str):
    if path == "targetingKey":
        tk = ctx.get("targetingKey")
        return MISSING if tk is None or tk == "" else tk
    if path in ctx:
        v = ctx[path]
        return MISSING if v is None else v
    cur = ctx
    for seg in path.split("."):
        if not isinstance(cur, dict) or seg not in cur:
            return MISSING
        cur = cur[seg]
    return MISSING if cur is None else cur


def is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def id_form(v):
    """The string a target or segment id list is compared with: strings as is, numbers in decimal form."""
    if isinstance(v, str):
        return v
    if is_num(v):
        return bucketing.format_number(v)
    return None


# --- operators --------------------------------------------------------------------------------------------------

def equal(a, b, ci: bool) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold() if ci else a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_num(a) and is_num(b):
        return a == b
    return False


_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"^v?({_NUM})(?:\.({_NUM})(?:\.({_NUM}))?)?(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")


def parse_semver(s):
    if not isinstance(s, str):
        return None
    m = _SEMVER.match(s)
    if not m:
        return None
    major, minor, patch, pre = m.groups()
    return (int(major), int(minor or 0), int(patch or 0), pre)


def _pre_key(pre):
    out = []
    for ident in pre.split("."):
        out.append((0, int(ident), "") if ident.isdigit() else (1, 0, ident))
    return out


def semver_cmp(a, b) -> int:
    if a[:3] != b[:3]:
        return -1 if a[:3] < b[:3] else 1
    pa, pb = a[3], b[3]
    if pa == pb:
        return 0
    if pa is None:
        return 1
    if pb is None:
        return -1
    ka, kb = _pre_key(pa), _pre_key(pb)
    return 0 if ka == kb else (-1 if ka < kb else 1)


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def to_time(v):
    """Seconds since the Unix epoch, or None."""
    if is_num(v):
        return float(v)
    if not isinstance(v, str):
        return None
    try:
        m = _DATE.match(v)
        if m:
            d = dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.timezone.utc)
            return d.timestamp()
        m = _DATETIME.match(v)
        if not m:
            return None
        tz = dt.timezone.utc
        if m[8] != "Z":
            sign = 1 if m[8][0] == "+" else -1
            tz = dt.timezone(sign * dt.timedelta(hours=int(m[8][1:3]), minutes=int(m[8][4:6])))
        d = dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), tzinfo=tz)
        return d.timestamp() + (float(m[7]) if m[7] else 0.0)
    except ValueError:
        return None


def holds(op: str, a, b, ci: bool) -> bool:
    if op == "in":
        return equal(a, b, ci)
    if op in ("contains", "starts_with", "ends_with"):
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
        if ci:
            a, b = a.lower(), b.lower()
        return {"contains": b in a, "starts_with": a.startswith(b), "ends_with": a.endswith(b)}[op]
    if op == "matches":
        if not (isinstance(a, str) and isinstance(b, str)):
            return False
        return re.search(b, a, re.IGNORECASE if ci else 0) is not None
    if op in ("lt", "lte", "gt", "gte"):
        if not (is_num(a) and is_num(b)):
            return False
        return {"lt": a < b, "lte": a <= b, "gt": a > b, "gte": a >= b}[op]
    if op.startswith("semver_"):
        va, vb = parse_semver(a), parse_semver(b)
        if va is None or vb is None:
            return False
        c = semver_cmp(va, vb)
        return {"semver_eq": c == 0, "semver_lt": c < 0, "semver_lte": c <= 0, "semver_gt": c > 0,
                "semver_gte": c >= 0}[op]
    if op in ("before", "after"):
        ta, tb = to_time(a), to_time(b)
        if ta is None or tb is None:
            return False
        return ta < tb if op == "before" else ta > tb
    raise ValueError(f"unknown operator {op}")


# --- evaluation -------------------------------------------------------------------------------------------------

class InvalidContext(Exception):
    pass


class Evaluator:
    def __init__(self, s: dict):
        self.flags = {f["key"]: f for f in s.get("flags", [])}
        self.segments = {g["key"]: g for g in s.get("segments", [])}

    def clause(self, c: dict, ctx: dict) -> bool:
        op = c["op"]
        if op == "equals":
            op = "in"
        negate = bool(c.get("negate"))
        ci = bool(c.get("caseInsensitive"))
        values = c.get("values") or []
        if op == "in_segment":
            return any(self.in_segment(k, ctx) for k in values) != negate
        v = lookup(ctx, c.get("attribute", ""))
        if op == "exists":
            return (v is not MISSING) != negate
        if v is MISSING:
            return False
        elems = v if isinstance(v, list) else [v]
        if op == "not_in":
            h = any(not any(equal(e, x, ci) for x in values) for e in elems)
        else:
            h = any(holds(op, e, x, ci) for e in elems for x in values)
        return h != negate

    def rule_matches(self, r: dict, ctx: dict) -> bool:
        return all(self.clause(c, ctx) for c in r["clauses"])

    def in_segment(self, key: str, ctx: dict) -> bool:
        g = self.segments[key]
        v = lookup(ctx, g.get("attribute") or "targetingKey")
        if v is not MISSING:
            ids = {id_form(e) for e in (v if isinstance(v, list) else [v])} - {None}
            if ids & set(g.get("excluded") or []):
                return False
            if ids & set(g.get("included") or []):
                return True
        return any(self.rule_matches(r, ctx) for r in g.get("rules") or [])

    def variation(self, f: dict, key: str) -> dict:
        for v in f["variations"]:
            if v["key"] == key:
                return v
        raise KeyError(key)

    def served(self, f, key, reason, rule_id=None, prereq=None) -> dict:
        d = {"value": self.variation(f, key)["value"], "variant": key, "reason": reason}
        if rule_id:
            d["ruleId"] = rule_id
        if prereq:
            d["prerequisiteKey"] = prereq
        return d

    def serve(self, f, s: dict, rule_id, ctx, static=False) -> dict:
        if s.get("variation"):
            if rule_id:
                return self.served(f, s["variation"], "TARGETING_MATCH", rule_id)
            return self.served(f, s["variation"], "STATIC" if static else "DEFAULT")
        sp = s["split"]
        v = lookup(ctx, sp.get("bucketBy") or "targetingKey")
        if v is MISSING:
            return self.served(f, f["offVariation"], "BUCKETING_KEY_MISSING", rule_id)
        hv = bucketing.bucketing_value(v)
        if hv is None:
            raise InvalidContext(f"bucketing attribute is {type(v).__name__}")
        b = bucketing.bucket(sp.get("salt") or f["key"], hv)
        weights = [[w["variation"], w["weight"]] for w in sp["weights"]]
        return self.served(f, bucketing.choose(b, weights), "SPLIT", rule_id)

    def evaluate(self, key: str, ctx: dict, typ: str | None = None) -> dict:
        f = self.flags.get(key)
        if f is None:
            return error("FLAG_NOT_FOUND")
        if typ and typ != f["type"]:
            return error("TYPE_MISMATCH")
        try:
            return self._evaluate(f, ctx)
        except InvalidContext:
            return error("INVALID_CONTEXT")

    def _evaluate(self, f: dict, ctx: dict) -> dict:
        if not f.get("enabled"):
            return self.served(f, f["offVariation"], "DISABLED")
        for p in f.get("prerequisites") or []:
            pf = self.flags[p["flag"]]
            d = self.evaluate(p["flag"], ctx)
            if not pf.get("enabled") or "errorCode" in d or d.get("variant") != p["variation"]:
                return self.served(f, f["offVariation"], "PREREQUISITE_FAILED", prereq=p["flag"])
        for t in f.get("targets") or []:
            attr = t.get("attribute") or "targetingKey"
            v = lookup(ctx, attr)
            if v is MISSING:
                continue
            ids = {id_form(e) for e in (v if isinstance(v, list) else [v])} - {None}
            if ids & set(t["values"]):
                return self.served(f, t["variation"], "TARGETING_MATCH", "target:" + attr)
        for i, r in enumerate(f.get("rules") or []):
            if self.rule_matches(r, ctx):
                return self.serve(f, r["serve"], r.get("id") or f"rule-{i + 1}", ctx)
        static = not (f.get("prerequisites") or f.get("targets") or f.get("rules"))
        return self.serve(f, f["fallthrough"], None, ctx, static=static)


def error(code: str) -> dict:
    return {"value": None, "reason": "ERROR", "errorCode": code}


def strict_equal(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if is_num(a) and is_num(b):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def check(files: list[str]) -> int:
    failures = total = 0
    for path in files:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        ev = Evaluator(doc["set"])
        names = set()
        for case in doc["cases"]:
            total += 1
            assert case["name"] not in names, f"{path}: duplicate case name {case['name']}"
            names.add(case["name"])
            got = ev.evaluate(case["flag"], case.get("context", {}), case.get("type"))
            if not strict_equal(got, case["expected"]):
                failures += 1
                print(f"{os.path.basename(path)}: {case['name']}\n  expected {json.dumps(case['expected'])}\n"
                      f"  got      {json.dumps(got)}")
        print(f"{os.path.basename(path)}: {len(doc['cases'])} cases")
    print(f"{total} cases, {failures} failures")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    if len(argv) > 1 and argv[1] == "check":
        files = argv[2:] or sorted(p for p in glob.glob(os.path.join(here, "..", "*.json"))
                                   if not p.endswith("bucketing.json"))
        return check(files)
    if len(argv) > 4 and argv[1] == "eval":
        with open(argv[2], encoding="utf-8") as fh:
            doc = json.load(fh)
        typ = argv[5] if len(argv) > 5 else None
        print(json.dumps(Evaluator(doc["set"]).evaluate(argv[3], json.loads(argv[4]), typ)))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
