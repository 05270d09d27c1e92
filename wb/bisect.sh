#!/usr/bin/env bash
# Build every commit of the series (fast config, incrementally): a series
# that a bisection can land in the middle of must build at every step.
# With build/linux clean, the commits are checked out in place and built in
# build/obj-fast, so each step rebuilds only what differs from the tip; the
# tip is then checked out and built again. With uncommitted edits there,
# a worktree (build/bisect/linux, build/bisect/obj-fast) is used instead:
# slower, since it shares no objects. One result per commit in RESULTS.
. "$(dirname "$0")/common.sh"

out=${1:-$B/results/bisect.tsv}
mkdir -p "$(dirname "$out")"
res() { "$WB/verdict.py" add "$out" "$@"; }
commits=($(git -C "$SRC" rev-list --reverse vrange-base..vrange))
n=${#commits[@]}
[ "$n" -gt 0 ] || { res FAIL "bisect" "the series has no commits"; exit 1; }

if [ -z "$(git -C "$SRC" status --porcelain --untracked-files=normal | head -n1)" ]; then
	tree=$SRC
	obj=$(objdir fast)
	restore() {
		git -C "$SRC" checkout -q vrange
		rm -f "$obj/.vrange-frags"	# the tip's config, as it was
		"$WB/kbuild.sh" fast >/dev/null 2>&1 || true
	}
	trap restore EXIT
else
	note "build/linux has uncommitted edits: bisecting in build/bisect/linux (slower)"
	tree=$B/bisect/linux
	obj=$B/bisect/obj-fast
	if [ ! -e "$tree/.git" ]; then
		git -C "$SRC" worktree prune
		git -C "$SRC" worktree add -q --detach "$tree" vrange-base
	fi
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
	git -C "$tree" checkout -q --detach "$c"
	stage "bisect: building commit $((i + 1))/$n: $subj"
	if SRC=$tree OBJ=$obj KBUILD_NOCHECK=1 "$WB/kbuild.sh" fast; then
		res PASS "$tag" "$subj"
	else
		res FAIL "$tag" "$subj: does not build; see ${obj#$TOP/}/build.log
$(grep -E 'error|Error' "$obj/build.log" | head -20)"
		fails=1
	fi
done
exit $fails
