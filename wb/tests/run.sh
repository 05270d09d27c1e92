#!/usr/bin/env bash
# The workbench's own tests: it must not be able to pass a bad kernel.
# Canned guest runs (logs/NAME/{console.log,tests.log,status}) must give the
# verdict expected of them; a guest that never powers off must be killed by
# the timeout and fail; git am of patches/ must give build/linux, and make
# save must reproduce patches/ from build/linux.
# Results go to RESULTS (default build/results/workbench.tsv).
. "$(dirname "$0")/../common.sh"

out=${1:-$B/results/workbench.tsv}
mkdir -p "$(dirname "$out")"
RESULTS=$out
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Every canned run but "good" must fail, and for the reason it was made for.
declare -A why=(
	[good]=""
	[ksft-fail]="ksft:vrange/vrange_test:global.b"
	[ksft-crash]="ksft:vrange/vrange_test	"
	[warning]="WARNING in the console"
	[kasan]="KASAN report"
	[lockdep]="lockdep report"
	[panic]="never reported"
	[hung]="timed out"
	[kmemleak]="kmemleak report"
	[kunit-fail]="kunit:vrange.vrange_test_unmark_splits"
	[short-plan]="the run was cut short"
	[rcu-stall]="RCU stall"
	[hung-task]="hung task"
	[one-cpu]="1 of 2 CPUs online"
)
for name in "${!why[@]}"; do
	r=$tmp/$name.tsv
	if "$WB/verdict.py" boot canned "$WB/tests/logs/$name" "$r" 2>/dev/null; then
		got=pass
	else
		got=fail
	fi
	if [ "$name" = good ]; then
		if [ $got = pass ] && ! grep -q '^FAIL' "$r" && [ "$(grep -c '^PASS' "$r")" -eq 7 ] &&
			[ "$(grep -c '^SKIP' "$r")" -eq 1 ]; then
			res PASS "workbench:verdict:good-run-passes"
		else
			res FAIL "workbench:verdict:good-run-passes" "$(cat "$r")"
		fi
	elif [ $got = fail ] && grep '^FAIL' "$r" | grep -qF "${why[$name]}"; then
		res PASS "workbench:verdict:$name-fails"
	else
		res FAIL "workbench:verdict:$name-fails" "expected a failure for: ${why[$name]}
$(cat "$r")"
	fi
done

# The summary's last line and exit status.
printf 'PASS\ta\t\nSKIP\tb\tno\n' >"$tmp/s1.tsv"
printf 'PASS\ta\t\nFAIL\tb\twhy\n' >"$tmp/s2.tsv"
if "$WB/verdict.py" summary "$tmp/s1.tsv" | tail -n1 | grep -qx '1 passed, 0 failed, 1 skipped' &&
	! "$WB/verdict.py" summary "$tmp/s2.tsv" >"$tmp/s2.out" &&
	tail -n1 "$tmp/s2.out" | grep -qx '1 passed, 1 failed'; then
	res PASS "workbench:summary-line-and-status"
else
	res FAIL "workbench:summary-line-and-status" "$(cat "$tmp/s2.out")"
fi

# A guest that never powers off is killed by the timeout and fails.
fake=$tmp/fake-qemu
printf '#!/bin/sh\nexec sleep 600\n' >"$fake"
chmod +x "$fake"
mkdir -p "$tmp/obj/arch/x86/boot"
: >"$tmp/obj/arch/x86/boot/bzImage"
set +e
BOOT_DIR=$tmp/boot-fast-check QEMU=$fake TIMEOUT=3 KERNEL=$tmp/obj/arch/x86/boot/bzImage INITRD=/dev/null \
	"$WB/boot.sh" fast check >"$tmp/boot.out" 2>&1
rc=$?
set -e
"$WB/verdict.py" boot hang "$tmp/boot-fast-check" "$tmp/hang.tsv" 2>/dev/null && rc2=0 || rc2=1
if [ "$rc" -eq 124 ] && [ "$rc2" -eq 1 ] && grep -q 'FAIL.*guest:finished.*timed out' "$tmp/hang.tsv"; then
	res PASS "workbench:timeout-kills-a-hung-guest"
else
	res FAIL "workbench:timeout-kills-a-hung-guest" "boot.sh exit $rc, verdict $rc2
$(cat "$tmp/boot.out" "$tmp/hang.tsv" 2>/dev/null)"
fi

# The tree's own config fragments (what kselftest and kunit.py users build
# with) are part of the fast config, and every option they name is in the
# fast kernel's .config once it is built.
cfgs=(tools/testing/selftests/vrange/config mm/tests/.kunitconfig)
bad=
frags=$(config_frags fast)
for f in "${cfgs[@]}"; do
	grep -qxF "$SRC/$f" <<<"$frags" || bad+="configs/fast.list does not merge $f
"
	[ -f "$SRC/$f" ] || { bad+="no $f in build/linux
"; continue; }
	if [ -f "$B/obj-fast/.config" ]; then
		while read -r line; do
			grep -qxF "$line" "$B/obj-fast/.config" || bad+="$f: $line is not in build/obj-fast/.config
"
		done < <(grep '^CONFIG_' "$SRC/$f")
	fi
done
if [ -z "$bad" ]; then
	res PASS "workbench:tree-configs-in-the-fast-config"
else
	res FAIL "workbench:tree-configs-in-the-fast-config" "$bad"
fi

# patches/ is a plain git format-patch series: a real `git am` of it onto the
# base (in build/am/linux) gives build/linux's tree, and make save of
# build/linux writes back exactly patches/.
if [ -d "$SRC/.git" ] && [ -z "$(git -C "$SRC" status --porcelain --untracked-files=normal | head -n1)" ] &&
	[ "$(git -C "$SRC" rev-parse HEAD)" = "$(cat "$SRC/.git/vrange-assembled" 2>/dev/null)" ]; then
	if "$WB/series.py" amcheck "$TOP/patches" >"$tmp/am.out" 2>&1 &&
		[ "$(git -C "$SRC" rev-parse "$BRANCH^{tree}")" = "$(git -C "$SRC" rev-parse HEAD^{tree})" ]; then
		res PASS "workbench:git-am-of-patches-gives-build-linux"
	else
		res FAIL "workbench:git-am-of-patches-gives-build-linux" "$(head -40 "$tmp/am.out")"
	fi
	if VRANGE_SAVE_TO=$tmp/save "$WB/series.py" save >"$tmp/save.out" 2>&1 &&
		diff -r "$TOP/patches" "$tmp/save/patches" >"$tmp/save.diff" 2>&1; then
		res PASS "workbench:tree-save-round-trip"
	else
		res FAIL "workbench:tree-save-round-trip" "$(cat "$tmp/save.out" "$tmp/save.diff" | head -40)"
	fi
else
	res SKIP "workbench:git-am-of-patches-gives-build-linux" "build/linux has unsaved edits or commits"
	res SKIP "workbench:tree-save-round-trip" "build/linux has unsaved edits or commits"
fi
