# The README's first command on a machine without the -dev packages (issue 16): a copy of the
# tree is built by `make demo` with a pkg-config that knows no package until the installer has
# run (a PATH shim; `make check-fresh` does the same in a debootstrap root with real apt). The
# installer is replaced through DEPS by one that only records that it ran, so the test needs no
# root and no network. Checked with -j1 and -j2: the build must wait for the installer and then
# see what it installed. Also: `make deps-demo` asks for no browser.
T_SUITE=fresh-build
. tests/e2e/lib.sh
real_pc=$(command -v pkg-config)
if [ -z "$real_pc" ] || ! pkg-config --exists libdw libxml-2.0; then
	skip all "the build packages are not installed here (make deps-build)"
	exit 0
fi
src=$(pwd)
OUT=$src/$OUT
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/shim"
cat > "$work/shim/pkg-config" <<EOF
#!/bin/sh
# nothing is installed until the fake installer has run
[ -f "$work/installed" ] || exit 1
exec "$real_pc" "\$@"
EOF
cat > "$work/shim/deps" <<EOF
#!/bin/sh
echo "\$1" >> "$work/deps.log"
touch "$work/installed"
EOF
chmod +x "$work/shim/pkg-config" "$work/shim/deps"

for j in 1 2; do
	tree=$work/tree-j$j
	mkdir -p "$tree"
	# the tracked and untracked files of this tree, as a clone would have them (build/ excluded)
	(cd "$src" && git ls-files -co --exclude-standard | grep -v '^fixtures/' |
		tar -cf - -T -) | tar -xf - -C "$tree"
	mkdir -p "$tree/fixtures" && cp -r "$src/fixtures/gunicorn-gthread-pipe" "$tree/fixtures/"
	rm -f "$work/installed" "$work/deps.log"
	(cd "$tree" && PATH="$work/shim:$PATH" make -j$j demo DEPS="$work/shim/deps" \
		> "$OUT/demo-j$j.log" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ -s "$tree/demo/report.html" ] && [ -s "$tree/demo/flamegraph.svg" ]; then
		ok "demo-first-time-j$j"
	else
		nok "demo-first-time-j$j" "make -j$j demo exited $rc (see $OUT/demo-j$j.log)"
	fi
	check "demo-asks-demo-packages-j$j" grep -qx demo "$work/deps.log"
done

# without the installer the build stops with one message naming the packages, not a missing header
tree=$work/tree-j1
rm -rf "$tree/build" "$work/installed"
(cd "$tree" && PATH="$work/shim:$PATH" make all > "$OUT/nodeps.log" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "make deps-build" "$OUT/nodeps.log" &&
	! grep -q "No such file" "$OUT/nodeps.log"; then
	ok missing-packages-named
else
	nok missing-packages-named "rc=$rc, see $OUT/nodeps.log"
fi

# what each target asks the installer for: the demo needs no browser and no node
pk=$(sh tests/deps.sh --list demo)
case " $pk " in
*chromium* | *nodejs* | *npm*) nok demo-needs-no-browser "make demo asks for: $pk" ;;
*) ok demo-needs-no-browser ;;
esac
