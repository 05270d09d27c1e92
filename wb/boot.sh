#!/usr/bin/env bash
# Boot a built kernel under QEMU (TCG) with the initramfs.
#   wb/boot.sh CONFIG MODE   (MODE: check, run, shell, bench, stress; see wb/guest/init)
# Environment: MEM (MiB, default 512), TIMEOUT (s), ZRAM (e.g. 256M), ARGS, NO32,
# QEMU (the emulator; the workbench's own tests replace it).
# Writes build/boot-CONFIG-MODE/{console.log,tests.log,status}; exits with
# QEMU's status: 33 = the guest reported success, 35 = it reported failure,
# 124 = timed out, anything else = it never reported.
. "$(dirname "$0")/common.sh"

cfg=${1:?config}; mode=${2:?mode}
MEM=${MEM:-512}
TIMEOUT=${TIMEOUT:-900}
QEMU=${QEMU:-qemu-system-x86_64}
obj=$(objdir "$cfg")
dir=${BOOT_DIR:-$B/boot-$cfg-$mode}
kernel=${KERNEL:-$obj/arch/x86/boot/bzImage}
initrd=${INITRD:-$B/initramfs.cpio.gz}
mkdir -p "$dir"
rm -f "$dir"/{console.log,tests.log,status}

# Two NUMA nodes: the kernel has no ACPI (it would double the build), so
# the nodes are emulated (CONFIG_NUMA_EMU, numa=fake=2).
append="console=ttyS0,115200 panic=-1 oops=panic mitigations=off no_hash_pointers numa=fake=2"
append+=" transparent_hugepage=madvise vrange.mode=$mode"
# Under TCG the clocksource watchdog sees a descheduled vCPU as a broken TSC
# and falls back to jiffies, which the benchmark cannot time with.
append+=" tsc=reliable"
# The guest calibrates its TSC against the emulated PIT, which fails now and
# then under TCG (then the guest runs on a jiffies clock). The guest's TSC is
# the host's under TCG: tell it the host's frequency when the host knows it.
tsc_khz=$(host_tsc_khz)
[ -n "$tsc_khz" ] && append+=" tsc_early_khz=$tsc_khz"
# The vrange slab on its own, so that the stress test can count its objects.
append+=" slab_nomerge"
# 4-level paging on the KASAN kernel: QEMU's -cpu max has LA57, and 6.12's
# identify_cpu() rebuilds the boot CPU's feature bits with interrupts on;
# an interrupt in that window sees pgtable_l5_enabled() false, so KASAN
# takes a 5-level direct-map address for a wild access (a false report in
# rcu_is_watching() from an interrupt in identify_cpu(), seen once at 2.4 s
# of a debug boot in a CI run on 2026-12-02; not vrange's code).
[ "$cfg" = debug ] && append+=" no5lvl"
# The guest's init reports how many CPUs came online; the verdict fails a
# boot with fewer than were asked for (a kernel without a way to find them).
SMP=${SMP:-2}
append+=" vrange.cpus=$SMP"
[ -n "${ZRAM:-}" ] && append+=" vrange.zram=$ZRAM"
# The 32-bit ABI tests (*_32) test the syscall ABI, which a debug kernel
# checks no better; they would add five minutes to its boot (NO32=1).
[ -n "${NO32:-}" ] && append+=" vrange.no32"
[ -n "${ARGS:-}" ] && append+=" vrange.args=\"$ARGS\""

# One CPU a socket: the kernel has no ACPI and finds the CPUs in SeaBIOS's MP
# table, which lists only the first logical CPU of each package. With -smp 2
# alone QEMU makes one package of two cores, and the guest booted on one CPU.
args=(-machine pc -cpu max -smp "$SMP,sockets=$SMP,cores=1,threads=1" -m "$MEM"
      -kernel "$kernel" -initrd "$initrd" -append "$append"
      -display none -monitor none -no-reboot
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
if [ "$mode" = shell ] || [ "$mode" = run ]; then
	args+=(-serial mon:stdio -serial "file:$dir/tests.log")
	fg=(--foreground)
else
	args+=(-serial "file:$dir/console.log" -serial "file:$dir/tests.log")
	fg=()
fi
[ "$mode" = shell ] && TIMEOUT=${TIMEOUT_SHELL:-86400}

stage "booting the $cfg kernel ($mode, ${MEM} MiB, $SMP vCPUs, TCG, timeout ${TIMEOUT}s)"
set +e
if [ "$mode" = run ]; then
	timeout "${fg[@]}" -k 10 "$TIMEOUT" $QEMU "${args[@]}" | tee "$dir/console.log"
	rc=${PIPESTATUS[0]}
else
	timeout "${fg[@]}" -k 10 "$TIMEOUT" $QEMU "${args[@]}"
	rc=$?
fi
set -e
echo "$rc" >"$dir/status"
case $rc in
33) note "guest reported success" ;;
35) note "guest reported failure" ;;
124|137) note "TIMEOUT: the guest did not finish in ${TIMEOUT}s" ;;
*) note "the guest never reported (QEMU exit status $rc): panic, crash or power-off" ;;
esac
exit "$rc"
