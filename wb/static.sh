#!/usr/bin/env bash
# Static checks of the series, each a result in RESULTS (default build/results/static.tsv):
#   checkpatch:<patch>   scripts/checkpatch.pl --strict on every exported patch:
#                        no error, no warning, no check, but the types listed
#                        (each with its reason) in wb/checkpatch-exceptions
#   w1-sparse:<file>     each C file the series adds or edits, built with W=1
#                        and sparse (C=2) on the fast config: no new diagnostic
#                        (diagnostics the base kernel already has in that file
#                        are in wb/base-diagnostics, made by wb/base-diags.sh;
#                        the series' own unavoidable ones, each with its reason,
#                        in wb/accepted-diagnostics; nothing else is allowed)
#   w1-trace:<file>      each of those files that defines or uses vrange's
#                        trace events, built with W=1 on the debug config,
#                        which has CONFIG_FTRACE (the fast one has no
#                        tracing, and an event class's unused variable once
#                        broke a tracing build with -Werror): no diagnostic
#                        beyond the same lists
. "$(dirname "$0")/common.sh"

out=${1:-$B/results/static.tsv}
mkdir -p "$(dirname "$out")"
RESULTS=$out

# checkpatch
[ -d "$TOP/out/series" ] || "$WB/series.py" export
ignore=$(grep -v '^#' "$WB/checkpatch-exceptions" | awk 'NF{print $1}' | paste -sd, -)
for p in "$TOP"/out/series/0*.patch; do
	case "$p" in *0000-cover-letter.patch) continue ;; esac
	name=$(basename "$p")
	log=$B/log/checkpatch-$name.log
	mkdir -p "$B/log"
	if (cd "$SRC" && ./scripts/checkpatch.pl --strict --color=never --showfile \
		${ignore:+--ignore "$ignore"} "$p") >"$log" 2>&1; then
		if grep -qE '^(WARNING|ERROR|CHECK):|: (WARNING|ERROR|CHECK):' "$log"; then
			res FAIL "checkpatch:$name" "$(grep -A4 -E '(WARNING|ERROR|CHECK):' "$log" | head -60)"
		else
			res PASS "checkpatch:$name"
		fi
	else
		res FAIL "checkpatch:$name" "$(grep -A4 -E '(WARNING|ERROR|CHECK):' "$log" | head -60)"
	fi
done

# Build one object again with extra make arguments and judge what it says:
#   w1_judge LABEL CONFIG FILE MAKE-ARGS...
# No diagnostic but those the base has (wb/base-diagnostics) or the series
# accepts (wb/accepted-diagnostics).
w1_judge() {
	local label=$1 cfg=$2 f=$3 o log diags new
	shift 3
	o=${f%.c}.o
	log=$B/log/$label-$(echo "$f" | tr / _).log
	rm -f "$(objdir "$cfg")/$o"
	if ! "$WB/kbuild.sh" "$cfg" "$@" "$o" >"$log" 2>&1; then
		res FAIL "$label:$f" "$(grep -E 'error|warning' "$log" | head -30)"
		return
	fi
	diags=$(grep -E "^[^ ]+:[0-9]+:[0-9]+: (warning|error)" "$log" |
		sed -e "s|^$SRC/||" -e 's/:[0-9]*:[0-9]*:/:/' | sort -u || true)
	new=$(comm -23 <(echo "$diags" | sed '/^$/d') \
		<(cat "$WB/base-diagnostics" "$WB/accepted-diagnostics" | grep -v '^#' | sort -u) || true)
	if [ -n "$new" ]; then
		res FAIL "$label:$f" "$new"
	else
		res PASS "$label:$f"
	fi
}

# W=1 and sparse on the C files the series touches
[ -f "$(objdir fast)/.config" ] || die "build the fast kernel first"
files=$(git -C "$SRC" diff --name-only "$BASE_TAG" "$BRANCH" -- '*.c' | grep -v '^tools/' | grep -v '/tests/' || true)
for f in $files; do
	w1_judge w1-sparse fast "$f" W=1 C=2 CHECK="sparse -Wno-unknown-attribute"
done

# The same files with tracing on: the debug config has CONFIG_FTRACE
if [ -f "$(objdir debug)/.config" ]; then
	for f in $files; do
		grep -q 'trace/events/vrange\.h' "$SRC/$f" && w1_judge w1-trace debug "$f" W=1
	done
else
	res FAIL "w1-trace" "build the debug kernel first ($(objdir debug)/.config)"
fi
