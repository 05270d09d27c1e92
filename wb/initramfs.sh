#!/usr/bin/env bash
# Build the guest's initramfs: busybox-static, wb/guest/init, and the
# kselftests built statically from build/linux (TARGETS from configs/ksft-targets).
# The same initramfs serves every kernel config.
. "$(dirname "$0")/common.sh"

obj=$(objdir fast)
[ -f "$obj/.config" ] || die "configure the fast kernel first (wb/kbuild.sh fast)"
targets=$(cat "$TOP/configs/ksft-targets")
root=$B/initramfs
out=$B/initramfs.cpio.gz

stage "building kselftests ($targets), static"
quiet "$B/log/headers.log" make -C "$SRC" O="$obj" headers
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,kselftest}
quiet "$B/log/kselftest.log" make -C "$SRC/tools/testing/selftests" O="$obj" \
	TARGETS="$targets" CC="ccache gcc" USERLDFLAGS=-static -j"$JOBS" \
	INSTALL_PATH="$root/kselftest" install
for t in $targets; do
	ls "$root/kselftest/$t" >/dev/null 2>&1 || die "kselftest target $t installed nothing"
done

# The vrange tests once more as 32-bit programs (i386 ABI under
# IA32_EMULATION): the same syscall numbers and struct layout, no compat
# glue. Debian's i686 cross compiler, since gcc-multilib conflicts with the
# cross compilers that make cross installs. The stress test is left out: it
# checks no more of the ABI and would add its minute twice per boot.
stage "building the vrange kselftests as 32-bit programs"
"$WB/deps.sh" gcc-i686-linux-gnu libc6-dev-i386-cross
o32=$B/kselftest32
rm -rf "$o32"
mkdir -p "$o32"
quiet "$B/log/kselftest32.log" make -C "$SRC/tools/testing/selftests/vrange" \
	OUTPUT="$o32" CC="ccache i686-linux-gnu-gcc" KHDR_INCLUDES="-isystem $obj/usr/include" \
	USERCFLAGS="-D_FILE_OFFSET_BITS=64 -Wno-pointer-to-int-cast" USERLDFLAGS=-static \
	-j"$JOBS" all
for t in vrange_test vrange_reclaim_test vrange_file_test vrange_fuzz_test vrange_mm_test; do
	file "$o32/$t" | grep -q 'ELF 32-bit.*statically linked' || die "$o32/$t is not a static 32-bit program"
	install -m 755 "$o32/$t" "$root/kselftest/vrange/${t}_32"
	echo "vrange:${t}_32" >>"$root/kselftest/kselftest-list.txt"
done

stage "packing the initramfs"
cp /bin/busybox "$root/bin/busybox"
file -L "$root/bin/busybox" 2>/dev/null | grep -q 'dynamically' && die "/bin/busybox is not static (install busybox-static)"
install -m 755 "$WB/guest/init" "$root/init"
install -m 755 "$WB/guest/timeout" "$root/usr/bin/timeout"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh" >>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$out.tmp")
mv "$out.tmp" "$out"
note "initramfs: $(du -h "$out" | cut -f1)"

# The jemalloc client (wb/client.sh), when it is built: the same initramfs
# with /jemalloc appended (the kernel unpacks concatenated archives), apart,
# since its ~190 MB of static test programs would crowd every other boot.
cg=$B/clients/jemalloc/guest
if [ -f "$cg/.stamp" ]; then
	stage "packing the client initramfs (jemalloc's tests)"
	(cd "$cg" && find jemalloc | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$B/client.cpio.gz.tmp")
	cat "$out" "$B/client.cpio.gz.tmp" >"$B/initramfs-client.cpio.gz.tmp"
	rm -f "$B/client.cpio.gz.tmp"
	mv "$B/initramfs-client.cpio.gz.tmp" "$B/initramfs-client.cpio.gz"
	note "client initramfs: $(du -h "$B/initramfs-client.cpio.gz" | cut -f1)"
fi
# make bench's client section: the initramfs with /jemalloc/jebench only.
bg=$B/clients/jemalloc/bench-guest
if [ -x "$bg/jemalloc/jebench" ]; then
	(cd "$bg" && find jemalloc | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1 >"$B/bench.cpio.gz.tmp")
	cat "$out" "$B/bench.cpio.gz.tmp" >"$B/initramfs-bench.cpio.gz.tmp"
	rm -f "$B/bench.cpio.gz.tmp"
	mv "$B/initramfs-bench.cpio.gz.tmp" "$B/initramfs-bench.cpio.gz"
fi
