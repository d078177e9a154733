#!/bin/sh
# make check-layering: every #include "x.h" of analyzer/lib goes to the same or a lower layer
# of docs/layers.md; every library module is in that table; no library file includes a CLI
# header. Prints one line per violation and exits 1 when there is any.
cd "$(dirname "$0")/../.." || exit 2
table=docs/layers.md
layers=$(sed -n 's/^| \([0-9][0-9]*\) | [a-z]* | \([a-z_0-9 ]*\) |.*/\1 \2/p' "$table")
[ -n "$layers" ] || { echo "check-layering: no layer table in $table"; exit 2; }
layer_of() { # module -> layer number, or nothing
	printf '%s\n' "$layers" | while read -r n mods; do
		for m in $mods; do [ "$m" = "$1" ] && echo "$n" && return; done
	done
}
cli_headers=$(cd analyzer/cli && ls ./*.h | sed 's|^\./||')
bad=0
for f in analyzer/lib/*.[ch]; do
	mod=$(basename "$f" | sed 's/\.[ch]$//')
	lm=$(layer_of "$mod")
	if [ -z "$lm" ]; then
		echo "check-layering: $f: module $mod is in no layer of $table"
		bad=1
		continue
	fi
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		for c in $cli_headers; do
			if [ "$(basename "$inc")" = "$c" ]; then
				echo "check-layering: $f includes the CLI header $inc"
				bad=1
			fi
		done
		im=$(basename "$inc" .h)
		li=$(layer_of "$im")
		[ -n "$li" ] || continue # a CLI header (reported above) or a test helper
		if [ "$li" -gt "$lm" ]; then
			echo "check-layering: $f ($mod, layer $lm) includes $inc (layer $li)"
			bad=1
		fi
	done
done
exit $bad
