#!/bin/sh
# make bench: perfsight side by side with perf on the same captures, as ratios, with a verdict
# per target; the table is also written to tests/out/bench.txt.
# The big captures (big-dwarf: ~100 MB DWARF; big-fp: 1M+ frame-pointer samples) and the large
# pyinstrument session are too large for the repository: they are made on demand into
# $PFS_BENCH_DIR (default /var/tmp/perfsight-bench) and reused. Recording needs root and perf;
# without them the capture cases are skipped with the reason, and without perf every peer is.
set -e
B=${B:-build}
dir=${PFS_BENCH_DIR:-/var/tmp/perfsight-bench}
export PERFSIGHT="$PWD/$B/perfsight"
mkdir -p "$dir"
for set in big-dwarf big-fp; do
	if [ ! -s "$dir/$set/perf.data" ]; then
		if [ "$(id -u)" = 0 ] && command -v perf >/dev/null; then
			echo "recording $set into $dir (once)" >&2
			bash tests/tools/record/record-fixtures.sh "$dir" "$set" > "$dir/$set.log" 2>&1 ||
				echo "recording $set failed: see $dir/$set.log" >&2
		else
			echo "SKIP $set: recording it needs root and perf" >&2
		fi
	fi
done
# a second big-dwarf-size capture, for perfsight diff's timing
if [ ! -s "$dir/big-dwarf2/perf.data" ]; then
	echo "recording big-dwarf2 into $dir (once)" >&2
	tests/tools/record/big-dwarf.sh "$dir/big-dwarf2" >"$dir/big-dwarf2.log" 2>&1 ||
		echo "recording big-dwarf2 failed or skipped: see $dir/big-dwarf2.log" >&2
fi
# a database of 1,000 small captures, each with its figures and ~200 functions, for trend
trend_db=$dir/trend-1000.db
if [ ! -s "$trend_db" ]; then
	echo "making $trend_db (once)" >&2
	python3 tests/tools/trend-captures.py "$dir/trend-caps" 1000
	"$PERFSIGHT" import "$dir"/trend-caps/cap-*.folded -o "$trend_db" >/dev/null 2>"$dir/trend.log" ||
		echo "importing the trend captures failed: see $dir/trend.log" >&2
fi
pyprof=$dir/pyprof-200.pyisession
[ -s "$pyprof" ] ||
	python3 tests/tools/pyprof-bigsession.py fixtures/pyinstrument/flask-testclient.pyisession \
		"$pyprof" 200 >&2
for set in big-dwarf big-dwarf2 big-fp; do cp "$dir/$set"/maps/perf-*.map /tmp/ 2>/dev/null || true; done  # perf script names Python frames from /tmp
python3 tests/tools/bench.py --runs "${RUNS:-5}" --pyprof "$pyprof" --trend-db "$trend_db" \
	fixtures/*/ "$dir"/big-dwarf "$dir"/big-dwarf2 "$dir"/big-fp
# the report's budget (issue 7) on the 1M-sample frame-pointer capture
if [ -s "$dir/big-fp/perf.data" ]; then
	sh tests/tools/bench-report.sh "$dir/big-fp" || echo "bench-report: a report budget is exceeded" >&2
fi
