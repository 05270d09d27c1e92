#!/bin/sh
# Run jemalloc's own test suite (test/unit, test/integration, test/stress) as
# its test/test.sh does, in one purge mode, and summarise it in TAP lines.
# POSIX sh: it runs under the guest's busybox and on the host.
#
#   run-tests.sh [-m MODE] [-c CONF] [-t SECONDS] [-x REGEX] [-k] [DIR] [TEST...]
#
#   -m MODE     stock, dontneed, madv_free or vrange: MALLOC_CONF gains
#               "purge:MODE,purge_stats:true" after each test's own settings
#               (a test's own dirty/muzzy_decay_ms still win: see opt.purge).
#               Without -m, MALLOC_CONF is left as it is (upstream's run).
#   -c CONF     more MALLOC_CONF for every test, after the mode
#   -t SECONDS  time limit of one test program (default 900; needs timeout)
#   -x REGEX    leave out the tests whose name matches REGEX (grep -E)
#   -k          keep going quietly: no log tail of a failed test
#   DIR         the staged tree (default: this script's directory), holding
#               tests.list and test/{unit,integration,stress}/
#   TEST...     run only these (e.g. unit/decay integration/malloc)
#
# Output: "ok N - unit/decay 21 pass, 0 skip, 0 fail, 3.2 s", "not ok N - ..."
# (a failure, a crash with its signal, or a timeout), "ok N - ... # SKIP", and
# at the end "# jemalloc: mode=M tests=T passed=P failed=F skipped=S
# seconds=S" plus the summed purge_stats counters. Exit status 0 when
# nothing failed. Logs of every test in $JEMALLOC_TEST_LOGS (default
# /tmp/jemalloc-tests).
mode= extra= limit=900 quiet= exclude=
while getopts m:c:t:x:k o; do
	case $o in
	m) mode=$OPTARG ;;
	c) extra=$OPTARG ;;
	t) limit=$OPTARG ;;
	x) exclude=$OPTARG ;;
	k) quiet=1 ;;
	*) sed -n '2,26s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
dir=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ] && [ -d "$1" ]; then
	dir=$(cd "$1" && pwd); shift
fi
case $mode in
""|stock|dontneed|madv_free|vrange) ;;
*) echo "run-tests.sh: unknown mode $mode" >&2; exit 2 ;;
esac
[ -f "$dir/tests.list" ] || { echo "run-tests.sh: no $dir/tests.list" >&2; exit 2; }
logs=${JEMALLOC_TEST_LOGS:-/tmp/jemalloc-tests}
mkdir -p "$logs"
# Tests write profiles and temporary files into their working directory.
work=$logs/work
mkdir -p "$work"

all=${mode:+purge:$mode,purge_stats:true}
[ -n "$extra" ] && all=${all:+$all,}$extra
tmo=
command -v timeout >/dev/null 2>&1 && tmo="timeout $limit"

now() { cut -d' ' -f1 /proc/uptime 2>/dev/null || date +%s; }

if [ $# -gt 0 ]; then list=$*; else list=$(cat "$dir/tests.list"); fi
[ -n "$exclude" ] && list=$(for t in $list; do echo "$t"; done | grep -Ev "$exclude")
n=0; for t in $list; do n=$((n + 1)); done
echo "TAP version 13"
echo "# jemalloc $(cat "$dir/VERSION" 2>/dev/null) tests in $dir, MALLOC_CONF+=${all:-(none)}"
echo "1..$n"

i=0 passed=0 failed=0 skipped=0
vol=0 novol=0 purged=0 reused=0 mfree=0 dneed=0 fellback=0
start=$(now)
for t in $list; do
	i=$((i + 1))
	log=$logs/$(echo "$t" | tr / _).log
	t0=$(now)
	# As test/test.sh does: the test's .sh sets MALLOC_CONF in a subshell,
	# and the common settings go after it.
	(
		MALLOC_CONF=
		if [ -f "$dir/test/$t.sh" ]; then
			enable_fill=1 enable_prof=1
			. "$dir/test/$t.sh"
		fi
		if [ -n "$MALLOC_CONF" ] && [ -n "$all" ]; then
			MALLOC_CONF="$MALLOC_CONF,$all"
		else
			MALLOC_CONF="$MALLOC_CONF$all"
		fi
		export MALLOC_CONF
		echo "MALLOC_CONF=$MALLOC_CONF"
		cd "$work" && exec $tmo "$dir/test/$t" "$dir/" "$dir/"
	) >"$log" 2>&1
	rc=$?
	t1=$(now)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	counts=$(sed -n 's/^--- pass: \([0-9]*\)\/[0-9]*, skip: \([0-9]*\)\/[0-9]*, fail: \([0-9]*\)\/[0-9]* ---$/\1 pass, \2 skip, \3 fail/p' "$log" | tail -n1)
	stats=$(grep '^<jemalloc>: purge:' "$log" | tail -n1)
	if [ -n "$stats" ]; then
		set -- $(echo "$stats" | sed 's/[a-z_]*=\([0-9]*\)/ \1 /g; s/^.*(vrange fell back)/F/' |
			awk '{ f = ($1 == "F"); n = 0; for (j = 1; j <= NF; j++) if ($j ~ /^[0-9]+$/) v[n++] = $j;
			       print v[0] + 0, v[1] + 0, v[2] + 0, v[3] + 0, v[4] + 0, v[5] + 0, f }')
		vol=$((vol + $1)); novol=$((novol + $2)); purged=$((purged + $3))
		reused=$((reused + $4)); mfree=$((mfree + $5)); dneed=$((dneed + $6))
		[ "$7" = 1 ] && fellback=1
	fi
	case $rc in
	0) passed=$((passed + 1)); echo "ok $i - $t ${counts:+$counts, }$secs s" ;;
	1) skipped=$((skipped + 1)); echo "ok $i - $t ${counts:+$counts, }$secs s # SKIP" ;;
	*)
		failed=$((failed + 1))
		case $rc in
		2) why="failed" ;;
		124|137) why="timed out after $limit s" ;;
		135) why="SIGBUS" ;;
		134) why="aborted (SIGABRT)" ;;
		139) why="SIGSEGV" ;;
		*) why="exit status $rc" ;;
		esac
		echo "not ok $i - $t ${counts:+$counts, }$secs s: $why"
		[ -z "$quiet" ] && tail -n 15 "$log" | sed 's/^/#   /'
		;;
	esac
done
end=$(now)
echo "# jemalloc: mode=${mode:-none} tests=$n passed=$passed failed=$failed skipped=$skipped" \
	"seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')"
note=
[ $fellback = 1 ] && note=" (vrange fell back to madv_free)"
[ -n "$mode" ] && echo "# jemalloc purge_stats: volatile=$vol novolatile=$novol purged=$purged" \
	"reused_purged=$reused madv_free=$mfree dontneed=$dneed$note"
[ $failed -eq 0 ]
