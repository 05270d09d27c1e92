#!/usr/bin/env bash
# make check: everything the tests need, from a fresh machine.
#   install (apt-get) -> assemble -> workbench self-tests -> build the fast,
#   debug and novrange kernels -> static checks -> series export and
#   bisectability -> htmldocs -> boot the fast and the debug kernel and run the tests ->
#   one verdict. The last line is 'N passed, N failed[, N skipped]'.
# Environment: CHECK_CONFIGS (default "fast debug"), MEM, ZRAM, TIMEOUT.
. "$(dirname "$0")/common.sh"

R=$B/results
rm -rf "$R"
mkdir -p "$R" "$B/log"
start=$(date +%s)
# res_in FILE ...: a result into build/results/FILE.tsv
res_in() { RESULTS=$R/$1.tsv res "$2" "$3" "${4:-}"; }
elapsed() { echo "$(( $(date +%s) - start ))s"; }

stage "installing what is missing"
"$WB/deps.sh"
stage "assembling build/linux"
"$WB/series.py" tree

stage "workbench self-tests"
"$WB/tests/run.sh" "$R/workbench.tsv" || true

stage "building kernels ($(elapsed))"
CHECK_CONFIGS=${CHECK_CONFIGS:-fast debug}
built=()
for cfg in $CHECK_CONFIGS novrange; do
	if "$WB/kbuild.sh" "$cfg" 2> >(tee "$B/log/kbuild-$cfg.err" >&2); then
		res_in build PASS "build:$cfg"
		built+=("$cfg")
	else
		cat "$B/log/kbuild-$cfg.err" >&2
		res_in build FAIL "build:$cfg" "$(tail -n 30 "$B/log/kbuild-$cfg.err")"
	fi
done

stage "series export, static checks and bisectability ($(elapsed))"
if "$WB/series.py" export; then
	if "$WB/series.py" amcheck 2>"$B/log/amcheck.log"; then
		res_in series PASS "series:applies-onto-base"
	else
		res_in series FAIL "series:applies-onto-base" "$(cat "$B/log/amcheck.log")"
	fi
	"$WB/static.sh" "$R/static.tsv" || true
	"$WB/bisect.sh" "$R/bisect.tsv" || true
	stage "documentation ($(elapsed))"
	"$WB/docs.sh" "$R/docs.tsv" || true
	"$WB/man.sh" "$R/man.tsv" || true
else
	res_in bisect FAIL "series:export" "make series failed"
fi

stage "the jemalloc client ($(elapsed))"
if "$WB/client.sh" 2> >(tee "$B/log/client.err" >&2); then
	res_in client PASS "client:build"
else
	res_in client FAIL "client:build" "$(tail -n 30 "$B/log/client.err")"
fi

stage "guest userspace ($(elapsed))"
if "$WB/initramfs.sh"; then
	for cfg in $CHECK_CONFIGS; do
		case " ${built[*]} " in *" $cfg "*) ;; *) continue ;; esac
		stage "booting $cfg and running the tests ($(elapsed))"
		no32=
		[ "$cfg" = debug ] && no32=1
		# The debug kernel runs the same tests several times slower under
		# TCG (KASAN, lockdep, kmemleak): it gets a longer bound.
		timeout=${TIMEOUT:-900}
		[ "$cfg" = debug ] && timeout=${TIMEOUT:-2400}
		TIMEOUT=$timeout NO32=$no32 ZRAM=${ZRAM:-128M} "$WB/boot.sh" "$cfg" check || true
		note "$(grep -ao 'init: testbed.*' "$B/boot-$cfg-check/console.log" | head -n1 | tr -d '\r' || true)"
		"$WB/verdict.py" boot "$cfg" "$B/boot-$cfg-check" "$R/boot-$cfg.tsv" || true
		note "console: build/boot-$cfg-check/console.log, tests: build/boot-$cfg-check/tests.log"
	done
	# jemalloc's own tests on the fast kernel (issue 16), from the client
	# initramfs that wb/initramfs.sh packs when the client is built.
	if [ -f "$B/initramfs-client.cpio.gz" ] && case " ${built[*]} " in *" fast "*) true ;; *) false ;; esac; then
		stage "booting fast and running jemalloc's tests ($(elapsed))"
		# "quick": without the stress benchmarks (make client-check runs them).
		INITRD="$B/initramfs-client.cpio.gz" MEM=2048 TIMEOUT=${TIMEOUT_CLIENT:-2400} ARGS=quick \
			"$WB/boot.sh" fast jemalloc || true
		# The verdict of any boot: no splat, every CPU online, the guest
		# reported success (every vrange run passed what stock passed).
		"$WB/verdict.py" guest jemalloc "$B/boot-fast-jemalloc" "$R/client.tsv" || true
		grep -a -e '^# init' -e 'not ok' "$B/boot-fast-jemalloc/tests.log" | tail -n 30 >&2 || true
		note "jemalloc: $(grep -a '# jemalloc:' "$B/boot-fast-jemalloc/tests.log" | tr -d '\r' | tr '\n' ';')"
	fi
else
	res_in boot FAIL "guest:initramfs" "$(tail -n 30 "$B/log/kselftest.log" 2>/dev/null)"
fi

stage "verdict ($(elapsed) in all)"
exec "$WB/verdict.py" summary "$R"/*.tsv
