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
