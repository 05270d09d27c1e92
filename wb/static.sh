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

# W=1 and sparse on the C files the series touches
obj=$(objdir fast)
[ -f "$obj/.config" ] || die "build the fast kernel first"
files=$(git -C "$SRC" diff --name-only "$BASE_TAG" "$BRANCH" -- '*.c' | grep -v '^tools/' | grep -v '/tests/' || true)
for f in $files; do
	o=${f%.c}.o
	log=$B/log/w1-$(echo "$f" | tr / _).log
	rm -f "$obj/$o"
	if ! "$WB/kbuild.sh" fast W=1 C=2 CHECK="sparse -Wno-unknown-attribute" "$o" >"$log" 2>&1; then
		res FAIL "w1-sparse:$f" "$(grep -E 'error|warning' "$log" | head -30)"
		continue
	fi
	diags=$(grep -E "^[^ ]+:[0-9]+:[0-9]+: (warning|error)" "$log" |
		sed -e "s|^$SRC/||" -e 's/:[0-9]*:[0-9]*:/:/' | sort -u || true)
	new=$(comm -23 <(echo "$diags" | sed '/^$/d') \
		<(cat "$WB/base-diagnostics" "$WB/accepted-diagnostics" | grep -v '^#' | sort -u) || true)
	if [ -n "$new" ]; then
		res FAIL "w1-sparse:$f" "$new"
	else
		res PASS "w1-sparse:$f"
	fi
done
