# The tree's own checks, which must pass and leave nothing behind: each library header compiles
# alone (check-headers), the sources are as clang-format writes them (check-format), no include
# goes up a layer of docs/layers.md (check-layering), and no stray file is committed.
T_SUITE=tree
. tests/e2e/lib.sh
before=$(git status --porcelain --ignored=no | sort)
for t in check-headers check-format check-layering; do
	if make -s "$t" > "$OUT/$t.log" 2>&1; then ok "$t"; else nok "$t" "$(head -3 "$OUT/$t.log")"; fi
done
after=$(git status --porcelain --ignored=no | sort)
if [ "$before" = "$after" ]; then ok checks-leave-tree-clean; else nok checks-leave-tree-clean "git status changed"; fi
check no-stray-root-files sh -c '! git ls-files --error-unmatch a--.d sf-base.db 2>/dev/null'
