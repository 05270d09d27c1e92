#!/usr/bin/env bash
# make bench: boot the fast kernel in bench mode and run vrange_bench
# (tools/testing/selftests/vrange/vrange_bench.c) in the guest, then the
# client section (jemalloc in its four purge modes: clients/jemalloc/
# jebench.c); keep what they measured under build/bench/:
#   bench.log          everything the guest printed (the tables, with PASS/FAIL
#                      against each target of issues 6 and 16)
#   TABLE.csv          the raw figures (size, churn, count, contention,
#                      reclaim, hog, target; client_churn, client_global,
#                      client_memcg)
#   size.png count.png the size and range-count sweeps (gnuplot)
# Environment: MEM (MiB, default 512), ZRAM (default 256M: the swap the
# reclaim section compares purging with), ARGS (vrange_bench's arguments,
# e.g. "-r 3 size"; "client" alone: only the client section), CLIENT=0
# (no client section: jemalloc is not built), TIMEOUT (s, default 2400).
# Exits 0 when the benchmark ran to its end, whatever the targets say.
. "$(dirname "$0")/common.sh"

"$WB/deps.sh" gnuplot-nox
"$WB/series.py" tree
"$WB/kbuild.sh" fast
# The client section (jemalloc, clients/jemalloc/jebench.c) needs the
# client built: apt-get source and ~10 min the first time. CLIENT=0 skips it.
initrd=$B/initramfs.cpio.gz
if [ "${CLIENT:-1}" != 0 ]; then
	"$WB/client.sh"
	initrd=$B/initramfs-bench.cpio.gz
fi
"$WB/initramfs.sh"

out=$B/bench
rm -rf "$out"
mkdir -p "$out"
set +e
INITRD=$initrd MEM=${MEM:-512} ZRAM=${ZRAM:-256M} TIMEOUT=${TIMEOUT:-2400} "$WB/boot.sh" fast bench
rc=$?
set -e
log=$B/boot-fast-bench/tests.log
[ -f "$log" ] && tr -d '\r' <"$log" >"$out/bench.log"
[ "$rc" -eq 33 ] || die "the benchmark did not finish (QEMU status $rc); see build/boot-fast-bench/{console,tests}.log"
# Under TCG the guest calibrates its TSC against the emulated PIT at boot;
# on a busy host that fails, the guest falls back to a jiffies clock and
# every figure is a multiple of a tick: worthless, so say so and stop.
note "$(grep -ao 'init: testbed.*' "$B/boot-fast-bench/console.log" | head -n1 | tr -d '\r' || true)"
grep -q 'init: testbed cpus=2 ' "$B/boot-fast-bench/console.log" ||
	die "the benchmark's guest did not have its 2 CPUs online (see the testbed line above)"
cs=$(grep -o 'Switched to clocksource [a-z-]*' "$B/boot-fast-bench/console.log" | tail -n1 | awk '{print $4}')
[ "$cs" = tsc ] || die "the guest ran on clocksource '${cs:-?}', not tsc (TSC calibration failed: was the host busy at boot?); the figures in build/bench are not usable: run make bench again on an idle host"

# csv,TABLE,fields...: the first line of each table is its header.
awk -F, -v dir="$out" '
	$1 == "csv"    { f = dir "/" $2 ".csv"; sub(/^csv,[^,]*,/, ""); print > f }
	$1 == "target" { f = dir "/target.csv"
			 if (!t++) print "target,value,op,limit,verdict" > f
			 sub(/^target,/, ""); print > f }' "$out/bench.log"

stage "results (build/bench/bench.log)"
grep -v -e '^csv,' -e '^target,' "$out/bench.log"

if command -v gnuplot >/dev/null; then
	if [ -s "$out/size.csv" ]; then
		methods=$(awk -F, 'NR > 1 && !seen[$1]++ { printf "%s ", $1 }' "$out/size.csv")
		gnuplot <<-EOF
		set terminal pngcairo size 900,600 noenhanced
		set output "$out/size.png"
		set datafile separator ","
		set title "Cost of one mark+unmark pair on populated memory (median, same boot)"
		set xlabel "size (bytes)"; set ylabel "ns per pair"
		set logscale xy; set key top left; set grid
		set format x "%.0s%cB"
		methods = "$methods"
		plot for [m in methods] "$out/size.csv" skip 1 \
			using 2:(strcol(1) eq m ? \$3 : 1/0):4:5 with yerrorlines title m
		EOF
	fi
	if [ -s "$out/count.csv" ]; then
		gnuplot <<-EOF
		set terminal pngcairo size 900,600 noenhanced
		set output "$out/count.png"
		set datafile separator ","
		set title "vrange mark+unmark pair with N ranges in the tree (median, same boot)"
		set xlabel "ranges in the tree"; set ylabel "ns per pair"
		set logscale x; set yrange [0:*]; set grid; set key off
		plot "$out/count.csv" skip 1 using 1:2:3:4 with yerrorlines
		EOF
	fi
fi
note "figures: build/bench/*.csv; plots: $(cd "$out" && ls ./*.png 2>/dev/null | tr '\n' ' ')"
