#!/bin/bash
# config_keys.sh - the configuration keys the code reads, the table of known keys
# (src/config/config_keys.c, behind the unknown-key warning) and etc/skydive.yml.example
# are one set:
#   - every key literal given to config_get_*() and every key format built with snprintf
#     ("auth.%s.type", "%s.auth.token_ttl") is in the table;
#   - every key of the table is read somewhere in src/ (as such a literal or format, or
#     as a string literal handed on, e.g. .listen_key = "agent.listen");
#   - the example, its commented-out lines uncommented, sets exactly the table's keys;
#   - `skydive analyzer` warns about none of the example's keys, and names a misspelt
#     one with the key meant.
# No root, no network. One `ok NAME` / `FAIL NAME: reason` line per check, then
# `N passed, M failed`.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
SKYDIVE=${SKYDIVE:-$root/build/skydive}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

/usr/bin/python3 - "$root" <<'PY' >"$tmp/out"
import os, re, sys, yaml
root = sys.argv[1]
res = []
def check(name, bad, what):
    res.append(("ok %s" % name) if not bad else ("FAIL %s: %s: %s" % (name, what, ", ".join(sorted(bad)))))

src = {}
for d, _, fs in os.walk(os.path.join(root, "src")):
    for f in fs:
        if f.endswith(".c"):
            p = os.path.join(d, f)
            src[os.path.relpath(p, root)] = open(p, encoding="utf-8").read()
table_src = src.pop("src/config/config_keys.c")
table = dict((k, kind == "KEY_TREE") for k, kind in
             re.findall(r'\{"([a-z0-9_.*]+)", (KEY_LEAF|KEY_TREE)\}', table_src))

def seg_match(pat, segs):  # pat segments with '*' = any one segment
    return len(pat) == len(segs) and all(p == "*" or s == "*" or p == s for p, s in zip(pat, segs))
def known(path):  # path (may hold '*') matched by a table key
    ps = path.split(".")
    for k, tree in table.items():
        ks = k.split(".")
        if seg_match(ks, ps) or (tree and len(ps) > len(ks) and seg_match(ks, ps[:len(ks)])):
            return True
    return False

code = "\n".join(src.values())
lits = set(re.findall(r'config_get_\w+\(\s*[\w>.-]+\s*,\s*"([^"]+)"', code))
fmts = set(f.replace("%s", "*") for f in
           re.findall(r'snprintf\(\s*(?:key|ckey|k|idkey)\s*,[^,]+,\s*"([a-z0-9_.%]+)"', code)
           if "." in f)
check("code-keys-in-table", [k for k in lits | fmts if not known(k)],
      "read by the code, missing from src/config/config_keys.c")
strings = set(re.findall(r'"([a-z0-9_.]+)"', code))
def read(k):
    if k in lits or k in strings:
        return True
    ks = k.split(".")
    return any(seg_match(f.split("."), ks) for f in fmts)
check("table-keys-read", [k for k in table if not read(k)],
      "in the table, read by no code")

lines = []
for l in open(os.path.join(root, "etc/skydive.yml.example"), encoding="utf-8"):
    m = re.match(r"^(\s*)# ?(\s*(?:[a-z_][a-z0-9_]*:(?:\s|$)|- ).*)$", l.rstrip("\n"))
    lines.append(m.group(1) + m.group(2) if m else l.rstrip("\n"))
doc = yaml.safe_load("\n".join(lines))
paths = []
def walk(v, p):
    if isinstance(v, dict) and v and not (p and any(k == p or ("*" in k and seg_match(k.split("."), p.split(".")))
                                                    for k, t in table.items() if t)):
        for k, c in v.items():
            walk(c, (p + "." if p else "") + str(k))
    elif p:
        paths.append(p)
walk(doc, "")
check("example-keys-in-table", [p for p in paths if not known(p)],
      "in etc/skydive.yml.example, not read by this build")
def covered(k):
    ks = k.split(".")
    return any(seg_match(ks, p.split(".")[:len(ks)] if table[k] else p.split(".")) for p in paths)
check("table-keys-in-example", [k for k in table if not covered(k)],
      "read by this build, missing from etc/skydive.yml.example")
print("\n".join(res))
PY
pass=0 fail=0
while read -r line; do
	echo "$line"
	case $line in ok*) pass=$((pass + 1)) ;; *) fail=$((fail + 1)) ;; esac
done <"$tmp/out"
[ -s "$tmp/out" ] || { echo "FAIL python: the key extraction did not run"; fail=$((fail + 1)); }

# The running build: no warning for the example; one, with the key meant, for a typo.
printf 'analyzer:\n  data_dir: %s/dd\n' "$tmp" >"$tmp/dd.yml"
printf 'flow:\n  expier: 30\n' >"$tmp/typo.yml"
for f in example typo; do
	conf=$root/etc/skydive.yml.example
	[ $f = typo ] && conf=$tmp/typo.yml
	SKYDIVE_ANALYZER_ALLOW_ROOT=true timeout -s INT 3 "$SKYDIVE" analyzer -c "$conf" -c "$tmp/dd.yml" \
		--listen 127.0.0.1:0 >"$tmp/$f.log" 2>&1
done
if grep -q "listening on" "$tmp/example.log" && ! grep -q "unknown key" "$tmp/example.log"; then
	ok=1; echo "ok example-no-warning"; pass=$((pass + 1))
else
	echo "FAIL example-no-warning: $(grep -m3 'unknown key\|ERROR' "$tmp/example.log")"; fail=$((fail + 1))
fi
if grep -q "WARNING config: $tmp/typo.yml: unknown key 'flow.expier' (this build does not read it); did you mean 'flow.expire'?" "$tmp/typo.log"; then
	echo "ok typo-warning"; pass=$((pass + 1))
else
	echo "FAIL typo-warning: $(head -3 "$tmp/typo.log")"; fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
