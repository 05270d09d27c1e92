#!/usr/bin/env bash
# A poor man's profiler for the guest kernel: boot the fast kernel with
# vrange_bench in spin mode (mark+unmark pairs on one page), sample every
# vCPU's PC through QEMU's gdbstub, and print the guest symbols they fall in.
#   wb/profile.sh [SAMPLES] [BENCH_ARGS]   (defaults: 150, "-t 120 spin")
# Needs a built fast kernel and initramfs (make bench builds both) and gdb.
# vmlinux has no KASLR in these configs, so nm's addresses are the PCs.
. "$(dirname "$0")/common.sh"

n=${1:-150}
bargs=${2:-"-t 120 spin"}
obj=$(objdir fast)
port=${GDB_PORT:-1234}
command -v gdb >/dev/null || die "gdb is not installed"
[ -f "$obj/vmlinux" ] && [ -f "$B/initramfs.cpio.gz" ] || die "make bench first"
dir=$B/profile
mkdir -p "$dir"
: >"$dir/pcs"

timeout -k 5 600 qemu-system-x86_64 -machine pc -cpu max -smp 2 -m 512 \
	-kernel "$obj/arch/x86/boot/bzImage" -initrd "$B/initramfs.cpio.gz" \
	-append "console=ttyS0,115200 panic=-1 mitigations=off numa=fake=2 tsc=reliable vrange.mode=bench vrange.args=\"$bargs\"" \
	-display none -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-serial "file:$dir/console.log" -serial "file:$dir/tests.log" -gdb "tcp:127.0.0.1:$port" &
qemu=$!
sleep 25
stage "sampling $n times"
for _ in $(seq 1 "$n"); do
	gdb -batch -nx -ex "target remote 127.0.0.1:$port" -ex 'thread apply all p/x $pc' \
		-ex detach 2>/dev/null | grep -o '= 0x[0-9a-f]*' | cut -d' ' -f2 >>"$dir/pcs"
	sleep 0.2
done
kill "$qemu" 2>/dev/null || true
wait "$qemu" 2>/dev/null || true
nm -n "$obj/vmlinux" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$dir/syms"
python3 - "$dir/syms" "$dir/pcs" <<'EOF'
import bisect, collections, sys
syms = [(int(a, 16), n) for a, n in (l.split() for l in open(sys.argv[1]))]
addrs = [a for a, _ in syms]
c = collections.Counter()
for l in open(sys.argv[2]):
    pc = int(l, 16)
    if pc < 0xffff800000000000:
        c["<user or firmware>"] += 1
        continue
    i = bisect.bisect_right(addrs, pc) - 1
    c[syms[i][1] if i >= 0 else "?"] += 1
total = sum(c.values()) or 1
for name, k in c.most_common(30):
    print("%5d %5.1f%% %s" % (k, 100.0 * k / total, name))
EOF
