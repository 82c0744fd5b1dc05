#!/usr/bin/python3
"""compare.py - compares two flow JSON arrays field by field.

usage: /usr/bin/python3 tests/golden/compare.py EXPECTED.json ACTUAL.json LABEL

Flows are matched by identity, not by position or UUID: (the parent flow's
identity, LayersPath, Link/Network/Transport endpoints as unordered pairs and
ids, ICMP type and id); flows left over are paired with the most similar one.
Every difference is printed on its own line as
  LABEL flow[...]: Metric.BABytes expected 148 got 150
Exit status 0 when equal, 1 when they differ, 2 when ACTUAL is not a JSON
array of objects."""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def endpoints(layer):
    if not isinstance(layer, dict):
        return None
    return (layer.get("Protocol"), tuple(sorted(str(layer.get(k)) for k in ("A", "B"))), layer.get("ID"))


def make_desc(flows):
    by_uuid = {}
    for f in flows:
        if isinstance(f.get("UUID"), str):
            by_uuid.setdefault(f["UUID"], f)
    memo = {}

    def desc(f, depth=0):
        if id(f) in memo:
            return memo[id(f)]
        parent = f.get("ParentUUID", "")
        if parent and parent in by_uuid and depth < 8 and by_uuid[parent] is not f:
            pdesc = desc(by_uuid[parent], depth + 1)
        elif parent:
            pdesc = ("?",)
        else:
            pdesc = ()
        icmp = f.get("ICMP") if isinstance(f.get("ICMP"), dict) else {}
        d = (pdesc, f.get("LayersPath"), endpoints(f.get("Link")), endpoints(f.get("Network")),
             endpoints(f.get("Transport")), icmp.get("Type"), icmp.get("ID"))
        memo[id(f)] = d
        return d
    return desc


def label(f):
    parts = []
    net = f.get("Network")
    if isinstance(net, dict):
        parts.append("Network=%s-%s" % (net.get("A"), net.get("B")))
    elif isinstance(f.get("Link"), dict):
        parts.append("Link=%s-%s" % (f["Link"].get("A"), f["Link"].get("B")))
    tp = f.get("Transport")
    if isinstance(tp, dict):
        parts.append("%s=%s-%s" % (tp.get("Protocol"), tp.get("A"), tp.get("B")))
    icmp = f.get("ICMP")
    if isinstance(icmp, dict):
        parts.append("ICMP=%s/%s" % (icmp.get("Type"), icmp.get("ID", 0)))
    parts.append("path=%s" % f.get("LayersPath"))
    if f.get("ParentUUID"):
        parts.append("inner")
    return "flow[%s]" % " ".join(parts)


def leaves(o, prefix=""):
    out = {}
    if isinstance(o, dict):
        for k, v in o.items():
            out.update(leaves(v, prefix + k + "."))
    else:
        out[prefix[:-1]] = o
    return out


def diff(exp, act, path=""):
    out = []
    if isinstance(exp, dict) and isinstance(act, dict):
        for k in exp:
            p = path + k
            if k not in act:
                out.append("%s expected %s, missing" % (p, json.dumps(exp[k])))
            else:
                out.extend(diff(exp[k], act[k], p + "."))
        for k in act:
            if k not in exp:
                out.append("%s unexpected %s" % (path + k, json.dumps(act[k])))
    elif exp != act or type(exp) is not type(act):
        out.append("%s expected %s got %s" % (path[:-1] if path.endswith(".") else path,
                                               json.dumps(exp), json.dumps(act)))
    return out


def compare(expected, actual, name):
    """Returns the list of difference lines."""
    lines = []
    ed, ad = make_desc(expected), make_desc(actual)
    unmatched_a = list(actual)
    pairs = []
    unmatched_e = []
    for e in sorted(expected, key=lambda f: (f.get("Start", 0), f.get("UUID", ""))):
        d = ed(e)
        cands = [a for a in unmatched_a if ad(a) == d]
        if cands:
            cands.sort(key=lambda a: (a.get("Start") != e.get("Start"), a.get("Start", 0)))
            a = cands[0]
            unmatched_a.remove(a)
            pairs.append((e, a))
        else:
            unmatched_e.append(e)
    # leftovers: pair with the most similar flow when at least half the fields agree
    for e in list(unmatched_e):
        el = leaves(e)
        best, score = None, 0
        for a in unmatched_a:
            al = leaves(a)
            s = sum(1 for k, v in el.items() if al.get(k) == v)
            if s > score:
                best, score = a, s
        if best is not None and score * 2 >= len(el):
            unmatched_a.remove(best)
            unmatched_e.remove(e)
            pairs.append((e, best))
    for e, a in pairs:
        for line in diff(e, a):
            lines.append("%s %s: %s" % (name, label(e), line))
    for e in unmatched_e:
        lines.append("%s %s: missing flow (expected %s)" % (name, label(e), json.dumps(e, sort_keys=True)))
    for a in unmatched_a:
        lines.append("%s %s: unexpected flow %s" % (name, label(a), json.dumps(a, sort_keys=True)))
    if len(expected) != len(actual):
        lines.insert(0, "%s: %d flows expected, got %d" % (name, len(expected), len(actual)))
    return lines


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        sys.exit(2)
    expected = load(sys.argv[1])
    try:
        actual = load(sys.argv[2])
    except (ValueError, OSError) as err:
        print("%s: output is not JSON: %s" % (sys.argv[3], err))
        sys.exit(2)
    if not isinstance(actual, list) or not all(isinstance(f, dict) for f in actual):
        print("%s: output is not a JSON array of objects" % sys.argv[3])
        sys.exit(2)
    lines = compare(expected, actual, sys.argv[3])
    for line in lines:
        print(line)
    sys.exit(1 if lines else 0)


if __name__ == "__main__":
    main()
