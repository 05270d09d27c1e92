#!/usr/bin/env bash
# Build every commit of the series (fast config, incrementally): a series
# that a bisection can land in the middle of must build at every step.
# The commits are checked out in their own worktree, build/bisect/linux, and
# built in build/bisect/obj-fast: build/linux is never moved, so it can be
# edited (and its kernels built) while this runs, and a killed run leaves it
# as it was. ccache (CCACHE_BASEDIR=build/) shares the fast build's objects.
# The tip is not built again: it is build:fast. One result per commit in RESULTS.
. "$(dirname "$0")/common.sh"

out=${1:-$B/results/bisect.tsv}
mkdir -p "$(dirname "$out")"
RESULTS=$out
commits=($(git -C "$SRC" rev-list --reverse "$BASE_TAG..$BRANCH"))
n=${#commits[@]}
[ "$n" -gt 0 ] || { res FAIL "bisect" "the series has no commits"; exit 1; }

tree=$B/bisect/linux
obj=$B/bisect/obj-fast
worktree "$tree"

fails=0
for i in $(seq 0 $((n - 1))); do
	c=${commits[$i]}
	subj=$(git -C "$SRC" log -1 --format=%s "$c")
	tag="bisect:$(printf '%02d' $((i + 1)))"
	if [ "$i" -eq $((n - 1)) ]; then
		res PASS "$tag" "the tip: built as build:fast"
		continue
	fi
	git -C "$tree" checkout -q -f --detach "$c"
	stage "bisect: building commit $((i + 1))/$n: $subj"
	start=$(date +%s)
	if FRAG_SRC=$SRC SRC=$tree OBJ=$obj KBUILD_NOCHECK=1 "$WB/kbuild.sh" fast >/dev/null; then
		res PASS "$tag" "$subj ($(( $(date +%s) - start ))s)"
	else
		res FAIL "$tag" "$subj: does not build; see ${obj#$TOP/}/build.log
$(grep -E 'error|Error' "$obj/build.log" | head -20)"
		fails=1
	fi
done
exit $fails
