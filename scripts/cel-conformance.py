#!/usr/bin/env python3
"""Converts cel-spec's simple conformance files (tests/simple/testdata/*.textproto, Apache-2.0, github google/cel-spec)
into the JSON data that tests/Actionflow.Core.Tests/Expressions/CelConformanceTests.cs reads.

Usage: scripts/cel-conformance.py CEL_SPEC_TESTDATA_DIR COMMIT > tests/Actionflow.Core.Tests/Expressions/cel-conformance.json

Every case of the chosen files is kept; the test decides which apply (see CelConformanceTests.NotApplicable).
Values are tagged so that int64, uint64 and double stay distinct: {"int":"1"}, {"uint":"1"}, {"double":1.5},
{"string":"a"}, {"bytes":"<base64>"}, {"bool":true}, {"null":true}, {"list":[...]}, {"map":[[k,v],...]},
{"type":"int"}, {"unsupported":"<kind>"} for protobuf messages and enums.
"""
import base64, json, math, os, sys

FILES = ["basic", "comparisons", "logic", "fields", "lists", "plumbing", "macros", "string", "integer_math",
         "fp_math", "conversions", "timestamps"]


def tokenize(text):
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n,;":
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{}:[]<>":
            yield ("p", c); i += 1
        elif c in "\"'":
            q = c; i += 1; out = bytearray()
            while text[i] != q:
                ch = text[i]
                if ch == "\\":
                    i += 1; e = text[i]
                    simple = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11, "\\": 92, "'": 39, '"': 34, "?": 63}
                    if e in simple:
                        out.append(simple[e]); i += 1
                    elif e == "x":
                        j = i + 1
                        while j < n and j < i + 3 and text[j] in "0123456789abcdefABCDEF":
                            j += 1
                        out.append(int(text[i + 1:j], 16)); i = j
                    elif e in "01234567":
                        j = i
                        while j < n and j < i + 3 and text[j] in "01234567":
                            j += 1
                        out.append(int(text[i:j], 8)); i = j
                    elif e in "uU":
                        k = 4 if e == "u" else 8
                        out += chr(int(text[i + 1:i + 1 + k], 16)).encode("utf-8"); i += 1 + k
                    else:
                        raise ValueError("escape " + e)
                else:
                    out += ch.encode("utf-8"); i += 1
            i += 1
            yield ("s", bytes(out))
        else:
            j = i
            while j < n and text[j] not in " \t\r\n,;#{}:[]<>\"'":
                j += 1
            yield ("w", text[i:j]); i = j


class Tokens:
    def __init__(self, items):
        self.items, self.i = list(items), 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.i >= len(self.items):
            raise StopIteration
        self.i += 1
        return self.items[self.i - 1]

    def peek(self):
        return self.items[self.i] if self.i < len(self.items) else None


def parse(tokens, end=None):
    """A message as a list of (field, value) pairs; value is bytes, a word, or a nested list."""
    fields = []
    while True:
        t = next(tokens, None)
        if t is None or (t[0] == "p" and t[1] == end):
            return fields
        if t == ("p", "["):
            name = ""
            while True:
                u = next(tokens)
                if u == ("p", "]"):
                    break
                name += u[1] if u[0] == "w" else u[1]
            key = "[" + name + "]"
        else:
            key = t[1]
        u = next(tokens)
        if u == ("p", ":"):
            u = next(tokens)
        if u in (("p", "{"), ("p", "<")):
            fields.append((key, parse(tokens, "}" if u[1] == "{" else ">")))
        elif u[0] == "s":
            data = u[1]
            while tokens.peek() is not None and tokens.peek()[0] == "s":
                data += next(tokens)[1]
            fields.append((key, data))
        else:
            fields.append((key, u[1]))


def get(msg, key, default=None):
    for k, v in msg:
        if k == key:
            return v
    return default


def getall(msg, key):
    return [v for k, v in msg if k == key]


def text(v):
    return v.decode("utf-8") if isinstance(v, bytes) else v


def number(word):
    w = text(word)
    if w in ("inf", "infinity", "Infinity"):
        return "Infinity"
    if w in ("-inf", "-infinity", "-Infinity"):
        return "-Infinity"
    if w.lower() == "nan":
        return "NaN"
    f = float(w)
    return f if math.isfinite(f) else ("Infinity" if f > 0 else "-Infinity")


def value(msg):
    if not msg:
        return {"unsupported": "empty value"}
    k, v = msg[0]
    if k == "null_value":
        return {"null": True}
    if k == "bool_value":
        return {"bool": text(v) == "true"}
    if k == "int64_value":
        return {"int": text(v)}
    if k == "uint64_value":
        return {"uint": text(v)}
    if k == "double_value":
        return {"double": number(v)}
    if k == "string_value":
        return {"string": v.decode("utf-8", errors="surrogateescape")}
    if k == "bytes_value":
        return {"bytes": base64.b64encode(v).decode()}
    if k == "list_value":
        return {"list": [value(x) for x in getall(v, "values")]}
    if k == "map_value":
        return {"map": [[value(get(e, "key")), value(get(e, "value"))] for e in getall(v, "entries")]}
    if k == "type_value":
        return {"type": text(v)}
    return {"unsupported": k}


def case(file, section, t):
    c = {"file": file, "section": text(get(section, "name")), "name": text(get(t, "name")), "expr": text(get(t, "expr"))}
    for flag in ("disable_macros", "disable_check", "check_only"):
        if text(get(t, flag, "false")) == "true":
            c[flag] = True
    if get(t, "container") is not None:
        c["container"] = text(get(t, "container"))
    if getall(t, "type_env"):
        c["type_env"] = [text(get(d, "name")) for d in getall(t, "type_env")]
    bindings = {}
    for b in getall(t, "bindings"):
        inner = get(get(b, "value"), "value")
        bindings[text(get(b, "key"))] = value(inner) if inner is not None else {"unsupported": "expr binding"}
    if bindings:
        c["bindings"] = bindings
    if get(t, "value") is not None:
        c["value"] = value(get(t, "value"))
    elif get(t, "eval_error") is not None or get(t, "any_eval_errors") is not None:
        errs = get(t, "eval_error") or get(t, "any_eval_errors")
        msgs = [text(get(e, "message", b"")) for e in getall(errs, "errors")]
        for group in getall(errs, "errors"):
            msgs += [text(get(e, "message", b"")) for e in getall(group, "errors")]
        c["error"] = "; ".join(m for m in msgs if m) or "error"
    elif get(t, "unknown") is not None or get(t, "any_unknowns") is not None:
        c["unknown"] = True
    elif get(t, "typed_result") is not None:
        tr = get(t, "typed_result")
        c["value"] = value(get(tr, "result")) if get(tr, "result") is not None else {"unsupported": "typed_result"}
    else:
        c["value"] = {"bool": True}
    return c


def main():
    folder, commit = sys.argv[1], sys.argv[2]
    cases = []
    for f in FILES:
        with open(os.path.join(folder, f + ".textproto"), encoding="utf-8") as fh:
            doc = parse(Tokens(tokenize(fh.read())))
        for s in getall(doc, "section"):
            for t in getall(s, "test"):
                cases.append(case(f, s, t))
    json.dump({"source": "github google/cel-spec tests/simple/testdata (Apache-2.0), converted by scripts/cel-conformance.py",
               "commit": commit, "cases": cases}, sys.stdout, indent=1, ensure_ascii=True)
    sys.stdout.write("\n")


main()
