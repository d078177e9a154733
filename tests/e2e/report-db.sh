#!/bin/sh
# perfsight report of a database: it renders the report data import kept (report_data), and a
# database without it (imported by an older perfsight, simulated by deleting the rows) renders
# from the samples the very same document.
T_SUITE=report-db
. tests/e2e/lib.sh

if ! command -v sqlite3 >/dev/null 2>&1; then
	skip report_db "sqlite3 (the command) is not installed: tests/deps.sh installs it"
	exit 0
fi

# data HTML: the report data the HTML file embeds, on standard output
data() {
	python3 -c '
import re, sys
m = re.search(r"<script type=\"application/json\" id=\"perfsight-data\">([^<]*)</script>",
              open(sys.argv[1], encoding="utf-8").read())
print(m.group(1) if m else "")' "$1"
}
# same NAME A.html B.html: their embedded data are equal byte for byte (and not empty)
same() {
	data "$2" >"$2.json"
	data "$3" >"$3.json"
	if [ -s "$2.json" ] && cmp -s "$2.json" "$3.json"; then
		ok "$1"
	else
		nok "$1" "$(cmp "$2.json" "$3.json" 2>&1 | head -1)"
	fi
}

title='<img src=x onerror=alert(1)> "q" </script>'
for f in fixtures/*/perf.data; do
	fx=$(basename "$(dirname "$f")")
	db="$OUT/$fx.db"
	rm -f "$db" "$db-wal" "$db-shm"
	"$PERFSIGHT" import "$f" -o "$db" --label "$fx" >/dev/null 2>"$OUT/$fx.err"
	if [ $? -ne "$(fx_rc "$(dirname "$f")")" ]; then
		nok "import_$fx" "$(tail -1 "$OUT/$fx.err")"
		continue
	fi
	check "stored_$fx" test "$(sqlite3 "$db" "SELECT count(*) FROM report_data")" = 1
	"$PERFSIGHT" report "$db" -o "$OUT/$fx.fast.html" --title "$title" 2>/dev/null
	cp "$db" "$OUT/$fx.old.db"
	sqlite3 "$OUT/$fx.old.db" "DELETE FROM report_data"
	"$PERFSIGHT" report "$OUT/$fx.old.db" -o "$OUT/$fx.slow.html" --title "$title" 2>/dev/null
	same "fast_equals_slow_$fx" "$OUT/$fx.fast.html" "$OUT/$fx.slow.html"
	# the stored data is what is read: without the samples, the same document
	cp "$db" "$OUT/$fx.nosamples.db"
	sqlite3 "$OUT/$fx.nosamples.db" "DELETE FROM samples"
	"$PERFSIGHT" report "$OUT/$fx.nosamples.db" -o "$OUT/$fx.ns.html" --title "$title" \
		2>/dev/null
	same "reads_stored_$fx" "$OUT/$fx.fast.html" "$OUT/$fx.ns.html"
	# the default title names the capture's label in both paths
	"$PERFSIGHT" report "$db" -o "$OUT/$fx.deft.html" 2>/dev/null
	"$PERFSIGHT" report "$OUT/$fx.old.db" -o "$OUT/$fx.deft-slow.html" 2>/dev/null
	same "default_title_$fx" "$OUT/$fx.deft.html" "$OUT/$fx.deft-slow.html"
done

# perf's lost samples: one warning in a report of the file and in both reports of the database
# (the stored data and the one made from the samples), the same words; the exit status 1
lost_once() { # NAME HTML: the report data has one lost-samples warning, of count 2
	data "$2" >"$2.lost.json"
	check "$1" python3 -c '
import json, sys
w = [x for x in json.load(open(sys.argv[1]))["warnings"] if x["code"] == "lost-samples"]
sys.exit(not (len(w) == 1 and w[0]["count"] == 2 and w[0]["severity"] == "error"
              and w[0]["message"].startswith("2 samples were lost while recording")))' "$2.lost.json"
}
fx=py312-threads-probes
"$PERFSIGHT" report fixtures/$fx/perf.data -o "$OUT/lost-file.html" 2>"$OUT/lost-file.err"
check lost_file_report_exit_1 test $? = 1
lost_once lost_file_report_once "$OUT/lost-file.html"
"$PERFSIGHT" report "$OUT/$fx.db" -o "$OUT/lost-db.html" 2>"$OUT/lost-db.err"
check lost_db_report_exit_1 test $? = 1
check lost_db_report_says_so grep -q 'error lost-samples (x2)' "$OUT/lost-db.err"
lost_once lost_db_report_once "$OUT/lost-db.html"
lost_once lost_db_slow_report_once "$OUT/$fx.slow.html"
check lost_meta_row python3 -c '
import json, sys
sys.exit(json.load(open(sys.argv[1]))["meta"].get("lost") != 2)' "$OUT/lost-db.html.lost.json"

fx=py312-threads-fp
db="$OUT/$fx.db"
check title_escaped_in_data grep -q 'onerror=alert(1)\\u003e' "$OUT/$fx.fast.html.json"
check title_not_raw sh -c "! grep -q '<img src=x' '$OUT/$fx.fast.html'"
check title_in_data python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(d["meta"]["title"] != sys.argv[2])' "$OUT/$fx.fast.html.json" "$title"

# --capture picks the stored data of that capture in a database of two
two="$OUT/two.db"
rm -f "$two" "$two-wal" "$two-shm"
"$PERFSIGHT" import fixtures/py312-threads-fp/perf.data -o "$two" --label fp >/dev/null 2>&1
"$PERFSIGHT" import fixtures/py312-threads-probes/perf.data -o "$two" --label probes \
	>/dev/null 2>&1
"$PERFSIGHT" report "$two" --capture probes -o "$OUT/two-probes.html" --title "$title" 2>/dev/null
same capture_by_label "$OUT/py312-threads-probes.fast.html" "$OUT/two-probes.html"
"$PERFSIGHT" report "$two" --capture 1 -o "$OUT/two-1.html" --title "$title" 2>/dev/null
same capture_by_id "$OUT/py312-threads-fp.fast.html" "$OUT/two-1.html"
"$PERFSIGHT" report "$two" -o "$OUT/two-none.html" >/dev/null 2>&1
check capture_required test $? -eq 2

# --event counts one event: made from the samples, as the raw file makes it
"$PERFSIGHT" report "$db" --event cpu-clock -o "$OUT/ev-db.html" --title "$title" 2>/dev/null
check event_from_db test $? -eq 0
"$PERFSIGHT" report "$OUT/$fx.nosamples.db" --event cpu-clock -o "$OUT/ev-ns.html" \
	--title "$title" 2>/dev/null
check event_reads_samples sh -c "! cmp -s '$OUT/ev-db.html' '$OUT/ev-ns.html'"

# a damaged blob is an error naming it, not a wrong report
cp "$db" "$OUT/bad.db"
sqlite3 "$OUT/bad.db" "UPDATE report_data SET data = x'28b52ffd0400'"
"$PERFSIGHT" report "$OUT/bad.db" -o "$OUT/bad.html" 2>"$OUT/bad.err"
check damaged_blob_exit_3 test $? -eq 3
check damaged_blob_named grep -q "report_data of capture 1" "$OUT/bad.err"
check damaged_blob_no_output test ! -e "$OUT/bad.html"
# a row of a capture that was replaced since (an older perfsight's --replace) is not used
cp "$db" "$OUT/stale.db"
sqlite3 "$OUT/stale.db" "UPDATE report_data SET imported_at = '2000-01-01T00:00:00Z'"
"$PERFSIGHT" report "$OUT/stale.db" -o "$OUT/stale.html" --title "$title" 2>/dev/null
same stale_row_ignored "$OUT/$fx.fast.html" "$OUT/stale.html"
check stale_row_reads_samples sh -c "
	cp '$OUT/stale.db' '$OUT/stale2.db' &&
	sqlite3 '$OUT/stale2.db' 'DELETE FROM samples' &&
	'$PERFSIGHT' report '$OUT/stale2.db' -o '$OUT/stale2.html' --title x 2>/dev/null &&
	! grep -q '\"samples\":[1-9]' '$OUT/stale2.html'"

# replace drops the old row with its capture
"$PERFSIGHT" import fixtures/py312-threads-fp/perf.data -o "$two" --label fp --replace \
	>/dev/null 2>&1
check replace_keeps_one_row test "$(sqlite3 "$two" "SELECT count(*) FROM report_data r
	JOIN captures c ON c.id = r.capture")" = 2
check replace_no_orphan test "$(sqlite3 "$two" "SELECT count(*) FROM report_data
	WHERE capture NOT IN (SELECT id FROM captures)")" = 0
