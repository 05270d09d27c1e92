#!/usr/bin/env bash
# make run: build the fast kernel and the guest, boot it, and run the demo
# (tools/testing/selftests/vrange/vrange_demo.c) on the console.
# SH=1 drops into the guest's shell instead ('poweroff -f' leaves it).
. "$(dirname "$0")/common.sh"

"$WB/deps.sh"
"$WB/series.py" tree
"$WB/kbuild.sh" fast
"$WB/initramfs.sh"
if [ -n "${SH:-}" ]; then
	exec "$WB/boot.sh" fast shell
fi
set +e
TIMEOUT=${TIMEOUT:-600} "$WB/boot.sh" fast run
rc=$?
set -e
note "$(grep -ao 'init: testbed.*' "$B/boot-fast-run/console.log" | head -n1 | tr -d '\r' || true)"
[ "$rc" -eq 33 ] && { note "demo finished (console log: build/boot-fast-run/console.log)"; exit 0; }
die "the demo failed (QEMU status $rc); console log: build/boot-fast-run/console.log"
