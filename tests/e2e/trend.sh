# perfsight trend over a database and perfsight report DB --each: the figures kept at import
# match diff's for the same captures, what a capture did not measure is null (not 0), label
# globs, natural label order, metric choice; one report per capture from its stored data and
# an index that links them; errors exit as documented.
T_SUITE=trend
. tests/e2e/lib.sh

if ! command -v python3 >/dev/null 2>&1; then
	skip all "python3 not installed"
	exit 0
fi
db=$OUT/trend.db
rm -f "$db" "$db-wal" "$db-shm"
ok_import=1
for x in "build-10 ciapp-gc" "build-9 ciapp-slow" "build-8 ciapp-base" "other py312-threads-probes"; do
	set -- $x
	"$PERFSIGHT" import "fixtures/$2/perf.data" -o "$db" --label "$1" >/dev/null 2>"$OUT/import.err"
	[ $? = "$(fx_rc "fixtures/$2")" ] || ok_import=0
done
"$PERFSIGHT" import fixtures/pyinstrument/flask-testclient.pyisession -o "$db" --label dump >/dev/null 2>&1 || ok_import=0
check import test $ok_import = 1

"$PERFSIGHT" trend "$db" --json "$OUT/all.json" >"$OUT/all.txt" 2>"$OUT/all.err"
check text-and-json test $? -eq 0
# the GC share import kept is the one diff measures
"$PERFSIGHT" diff fixtures/ciapp-base/perf.data fixtures/ciapp-gc/perf.data --json "$OUT/gc.json" >/dev/null 2>&1
check gc-share-as-diff python3 -c '
import json, sys
t = json.load(open(sys.argv[1])); d = json.load(open(sys.argv[2]))
s = {x["name"]: x["values"] for x in t["series"]}
labels = [c["label"] for c in t["captures"]]
g = s["gc_share"]
sys.exit(abs(g[labels.index("build-10")] - d["figures"]["gc_share"]["new"]) > 1e-9 or
         abs(g[labels.index("build-8")] - d["figures"]["gc_share"]["base"]) > 1e-9)' "$OUT/all.json" "$OUT/gc.json"
# not measured is null: no GC probes in ciapp, probes in the threads capture; a dump has no GC
check unmeasured-null python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
s = {x["name"]: x["values"] for x in t["series"]}
labels = [c["label"] for c in t["captures"]]
p99 = s["gc_pause_p99_ms"]
ok = p99[labels.index("build-8")] is None and p99[labels.index("other")] > 0
ok = ok and s["gc_share"][labels.index("dump")] is None and t["unfigured"] == 0
ok = ok and s["samples"][labels.index("dump")] > 0
sys.exit(not ok)' "$OUT/all.json"
# the functions: checksum is among the heaviest, its share up from build-8 to build-9
check function-series python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
labels = [c["label"] for c in t["captures"]]
f = {x["name"]: x["values"] for x in t["series"] if x["kind"] == "function"}
c = f["py::checksum:/srv/app/ciapp/ciapp.py"]
sys.exit(not c[labels.index("build-9")] > c[labels.index("build-8")] + 0.1)' "$OUT/all.json"
# a glob, natural order, chosen metrics
"$PERFSIGHT" trend "$db" --labels 'build-*' --sort label --metric gc_share --json - >"$OUT/glob.json" 2>/dev/null
check glob-and-order python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))
ok = [c["label"] for c in t["captures"]] == ["build-8", "build-9", "build-10"]
ok = ok and [s["name"] for s in t["series"]] == ["gc_share"]
sys.exit(not ok)' "$OUT/glob.json"
check text-rows sh -c "[ \$(grep -c '^[0-9][0-9]*   ' '$OUT/all.txt') = 5 ]"

# report --each: every capture's report, from its stored data, and an index linking them
rm -rf "$OUT/each"
"$PERFSIGHT" report "$db" --each -o "$OUT/each" >/dev/null 2>"$OUT/each.err"
check each-exit test $? -eq 0
check each-files sh -c "ls '$OUT/each'/[0-9]*.html | wc -l | grep -qx 5 && test -s '$OUT/each/index.html'"
check each-stored-used grep -q '(4 from stored report data)' "$OUT/each.err"
check each-index-links python3 -c '
import json, re, sys
h = open(sys.argv[1]).read()
d = json.loads(re.search(r"id=\"perfsight-data\">([^<]*)<", h).group(1))
sys.exit(sorted(c["report"] for c in d["captures"]) != sorted("%d.html" % i for i in range(1, 6)))' "$OUT/each/index.html"
# the stored report is the one report DB --capture writes
"$PERFSIGHT" report "$db" --capture 1 -o "$OUT/one.html" >/dev/null 2>&1
check each-same-as-single python3 -c '
import re, sys
a, b = (re.sub(r"nonce[-=]\"?[0-9a-f]+\"?", "", open(f).read()) for f in sys.argv[1:3])
sys.exit(a != b)' "$OUT/one.html" "$OUT/each/1.html"

# errors
"$PERFSIGHT" trend "$db" --metric everything >/dev/null 2>&1
check bad-metric-exit-2 test $? -eq 2
"$PERFSIGHT" trend fixtures/ciapp-base/perf.data >/dev/null 2>&1
check not-a-db-exit-3 test $? -eq 3
"$PERFSIGHT" report fixtures/ciapp-base/perf.data --each -o "$OUT/nope" >/dev/null 2>&1
check each-needs-db-exit-2 test $? -eq 2
"$PERFSIGHT" trend --help | grep -q 'perfsight trend DB'
check help test $? -eq 0
