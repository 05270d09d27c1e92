#!/usr/bin/env bash
# make htmldocs: the series' documentation built as the kernel builds it.
#   wb/docs.sh [RESULTS]   (default build/results/docs.tsv)
# Results:
#   docs:htmldocs   `make htmldocs SPHINXDIRS="mm userspace-api"` (Debian's
#                   python3-sphinx) gives no warning that names a vrange
#                   document, and builds both vrange.html pages
#   docs:proc.rst   Documentation/filesystems/proc.rst, which the series
#                   edits, has no more docutils warnings than the base's
#                   (building all of filesystems/ would take minutes)
. "$(dirname "$0")/common.sh"

out=${1:-$B/results/docs.tsv}
mkdir -p "$(dirname "$out")" "$B/log"
RESULTS=$out

"$WB/deps.sh" python3-sphinx python3-docutils

obj=$B/docs
log=$B/log/htmldocs.log
stage "make htmldocs SPHINXDIRS=\"mm userspace-api\" (log: $log)"
start=$(date +%s)
if ! timeout 1200 make -C "$SRC" O="$obj" SPHINXDIRS="mm userspace-api" \
	htmldocs >"$log" 2>&1; then
	res FAIL docs:htmldocs "$(tail -n 30 "$log")"
elif grep -iE 'vrange' "$log" | grep -iE 'warning|error'; then
	res FAIL docs:htmldocs "$(grep -iE 'vrange' "$log" | grep -iE 'warning|error' | head -30)"
elif [ ! -s "$obj/Documentation/output/mm/vrange.html" ] ||
     [ ! -s "$obj/Documentation/output/userspace-api/vrange.html" ]; then
	res FAIL docs:htmldocs "vrange.html missing under $obj/Documentation/output"
else
	res PASS docs:htmldocs
fi
note "htmldocs in $(( $(date +%s) - start ))s"

# proc.rst alone, through docutils: the series' lines must add no warning.
warns() { python3 -m docutils --report=2 --halt=5 - /dev/null 2>&1 | grep -cE '\((WARNING|ERROR|SEVERE)' || true; }
base=$(git -C "$SRC" show "$BASE_TAG":Documentation/filesystems/proc.rst | warns)
now=$(warns <"$SRC/Documentation/filesystems/proc.rst")
if [ "$now" -le "$base" ]; then
	res PASS docs:proc.rst
else
	res FAIL docs:proc.rst "$now docutils warnings, $base in the base: $(python3 -m docutils --report=2 --halt=5 \
		"$SRC/Documentation/filesystems/proc.rst" /dev/null 2>&1 | head -20)"
fi
