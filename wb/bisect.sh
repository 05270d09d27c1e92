#!/usr/bin/env bash
# Build every commit of the series (fast config, incrementally) in a
# worktree of build/linux: build/bisect/linux with build/bisect/obj-fast.
# The last commit is the tree `make check` builds as build:fast, so it is
# not built twice. One result per commit in RESULTS.
. "$(dirname "$0")/common.sh"

out=${1:-$B/results/bisect.tsv}
mkdir -p "$(dirname "$out")"
res() { "$WB/verdict.py" add "$out" "$@"; }
wt=$B/bisect/linux
commits=($(git -C "$SRC" rev-list --reverse vrange-base..vrange))
n=${#commits[@]}
[ "$n" -gt 0 ] || { res FAIL "bisect" "the series has no commits"; exit 1; }

if [ ! -e "$wt/.git" ]; then
	stage "bisect: creating the worktree build/bisect/linux (once)"
	rm -rf "$wt"
	git -C "$SRC" worktree prune
	git -C "$SRC" worktree add -q --detach "$wt" vrange-base
fi
fails=0
for i in $(seq 0 $((n - 1))); do
	c=${commits[$i]}
	subj=$(git -C "$SRC" log -1 --format=%s "$c")
	tag="bisect:$(printf '%02d' $((i + 1)))"
	if [ "$i" -eq $((n - 1)) ]; then
		res PASS "$tag" "the tip: built as build:fast"
		continue
	fi
	git -C "$wt" checkout -q --detach "$c"
	stage "bisect: building commit $((i + 1))/$n: $subj"
	if SRC=$wt OBJ=$B/bisect/obj-fast KBUILD_NOCHECK=1 "$WB/kbuild.sh" fast; then
		res PASS "$tag" "$subj"
	else
		res FAIL "$tag" "$subj: does not build; see build/bisect/obj-fast/build.log
$(grep -E 'error|Error' "$B/bisect/obj-fast/build.log" | head -20)"
		fails=1
	fi
done
exit $fails
