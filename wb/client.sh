#!/usr/bin/env bash
# Build the jemalloc client (issue 16): Debian's jemalloc source at the version
# in clients/jemalloc/version, clients/jemalloc/vrange.patch on top, a static
# libjemalloc.a and jemalloc's own test programs (test/unit, test/integration,
# test/stress) as static programs for the guest, staged with the runner
# (clients/jemalloc/run-tests.sh) in build/clients/jemalloc/guest/jemalloc/,
# the guest's /jemalloc (guest/ is the root of what the initramfs adds).
#   wb/client.sh            build (quick when nothing changed)
#   FORCE=1 wb/client.sh    rebuild from a fresh source tree
# Environment: CLIENT_JOBS (make -j, default 2: the cores are shared),
# KHDR (the kernel's uapi headers; default build/obj-fast/usr/include).
# When the recorded version is no longer served, the newest jemalloc is
# taken, loudly, as base-version does for the kernel.
. "$(dirname "$0")/common.sh"

C=$TOP/clients/jemalloc
out=$B/clients
guest=$out/jemalloc/guest
patch=$C/vrange.patch
want=$(cat "$C/version")
JOBS=${CLIENT_JOBS:-2}
KHDR_GIVEN=${KHDR:-}
KHDR=${KHDR:-$(objdir fast)/usr/include}
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

# The uapi headers of the fast build (as wb/initramfs.sh makes them).
if [ -z "${KHDR_GIVEN:-}" ] && [ -f "$(objdir fast)/.config" ]; then
	quiet "$B/log/headers.log" make -C "$SRC" O="$(objdir fast)" headers
fi
[ -f "$KHDR/linux/vrange.h" ] && grep -q '__NR_vrange' "$KHDR/asm/unistd_64.h" 2>/dev/null ||
	die "no vrange uapi headers in $KHDR: build the fast kernel first (make kernel)"
"$WB/deps.sh" dpkg-dev gcc g++ make patch file binutils

# Debian's sources: a deb-src entry for bookworm main, with the archive's
# keyring, unless one is there already; apt-get update of that entry alone.
srcs=/etc/apt/sources.list.d/vrange-deb-src.sources
if ! apt-cache showsrc jemalloc 2>/dev/null | grep -q '^Version:'; then
	if [ ! -f "$srcs" ]; then
		stage "adding a deb-src entry for Debian bookworm main ($srcs)"
		$SUDO tee "$srcs" >/dev/null <<'EOF'
# Added by the vrange workbench (wb/client.sh): jemalloc's source for the client.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	quiet "$B/log/apt-update-src.log" $SUDO apt-get update \
		-o Dir::Etc::SourceList="$srcs" -o Dir::Etc::SourceParts=/nonexistent \
		-o APT::Get::List-Cleanup=0
fi

served=$(apt-cache showsrc jemalloc | awk '/^Version:/ { print $2 }')
[ -n "$served" ] || die "Debian serves no jemalloc source package"
if printf '%s\n' "$served" | grep -qxF "$want"; then
	ver=$want
else
	ver=$(printf '%s\n' "$served" | sort -V | tail -n1)
	cat >&2 <<MSG
################################################################################
WARNING: jemalloc $want (clients/jemalloc/version) is no longer served.
WARNING: using $ver instead; vrange.patch was last tested on $want.
WARNING: update clients/jemalloc/version once the client passes on $ver.
################################################################################
MSG
fi
upver=${ver%-*}; upver=${upver#*:}

# Everything the build depends on; the same stamp means nothing to do.
stamp=$(cat "$patch" "$C/run-tests.sh" "$C/jebench.c" "$0" "$KHDR/linux/vrange.h" "$KHDR/asm/unistd_64.h" |
	sha256sum | cut -c1-16)-$ver
if [ -z "${FORCE:-}" ] && [ "$(cat "$guest/.stamp" 2>/dev/null)" = "$stamp" ]; then
	note "jemalloc $ver client up to date ($guest)"
	exit 0
fi

# The source, once a version.
src=$out/src/jemalloc-$ver
if [ ! -f "$src/.unpacked" ]; then
	stage "apt-get source jemalloc=$ver"
	rm -rf "$src"
	mkdir -p "$src"
	(cd "$src" && quiet "$B/log/client-apt-source.log" apt-get source --only-source "jemalloc=$ver")
	[ -d "$src/jemalloc-$upver" ] || die "apt-get source unpacked no jemalloc-$upver"
	touch "$src/.unpacked"
fi

# The build tree: the source (Debian's patches applied) and ours on top.
# Rebuilt from scratch only when the patch or the version changed; other
# changes (the runner, the headers) make's own dependencies handle.
tree=$out/jemalloc/build
pstamp=$(cat "$patch" | sha256sum | cut -c1-16)-$ver
if [ -n "${FORCE:-}" ] || [ "$(cat "$tree/.patched" 2>/dev/null)" != "$pstamp" ]; then
	stage "applying clients/jemalloc/vrange.patch to jemalloc $upver"
	rm -rf "$tree"
	mkdir -p "$(dirname "$tree")"
	cp -a "$src/jemalloc-$upver" "$tree"
	quiet "$B/log/client-patch.log" patch -d "$tree" -p1 --forward --batch -i "$patch"
	# Debian's options for amd64 (debian/rules), --with-version since the
	# tree has no git (and would otherwise find the workbench's).
	stage "configuring jemalloc"
	(cd "$tree" && quiet "$B/log/client-configure.log" ./configure \
		--with-version=VERSION --with-lg-page=12 --with-lg-hugepage=21 --enable-prof \
		CC="ccache gcc" CXX="ccache g++" CPPFLAGS="-isystem $KHDR" CFLAGS="-O2 -g")
	echo "$pstamp" >"$tree/.patched"
fi

# Unit tests link jemalloc's objects directly (the jet_ copy); integration
# and stress tests link the library, the .so by default: IMPORTLIB=a makes
# that lib/libjemalloc.a, built first by build_lib_static.
stage "building libjemalloc.a and jemalloc's tests (static, make -j$JOBS)"
t0=$(date +%s)
quiet "$B/log/client-build.log" make -C "$tree" -j"$JOBS" build_lib_static
quiet "$B/log/client-build-tests.log" make -C "$tree" -j"$JOBS" IMPORTLIB=a LDFLAGS=-static \
	tests_unit tests_integration tests_stress
note "built in $(( $(date +%s) - t0 )) s"

# The test programs, in Makefile order; each must be a static program.
list=$(make -C "$tree" -s -f Makefile -f - print-tests <<'EOF'
print-tests:
	@echo $(TESTS_UNIT:$(srcroot)test/%.c=%) $(TESTS_INTEGRATION:$(srcroot)test/%.c=%) \
		$(TESTS_INTEGRATION_CPP:$(srcroot)test/%.cpp=%) $(TESTS_STRESS:$(srcroot)test/%.c=%)
EOF
)
[ -n "$list" ] || die "found no jemalloc tests in $tree/Makefile"

stage "staging the client for the guest ($guest/jemalloc)"
rm -rf "$guest"
g=$guest/jemalloc
mkdir -p "$g/test"
for t in $list; do
	f=$tree/test/$t
	file "$f" | grep -q 'statically linked' || die "$f is not a static program"
	mkdir -p "$g/test/$(dirname "$t")"
	strip -o "$g/test/$t" "$f"
	[ -f "$tree/test/$t.sh" ] && install -m 644 "$tree/test/$t.sh" "$g/test/$t.sh"
	echo "$t"
done >"$g/tests.list"
install -m 755 "$C/run-tests.sh" "$g/run-tests.sh"
echo "$ver (vrange.patch $(sha256sum "$patch" | cut -c1-12))" >"$g/VERSION"
# The library and its header for programs built against it (the benchmark).
mkdir -p "$out/jemalloc/lib" "$out/jemalloc/include/jemalloc"
strip --strip-debug -o "$out/jemalloc/lib/libjemalloc.a" "$tree/lib/libjemalloc.a"
install -m 644 "$tree/include/jemalloc/jemalloc.h" "$out/jemalloc/include/jemalloc/jemalloc.h"
# make bench's client section (clients/jemalloc/jebench.c), linked with the
# library, staged apart: the bench guest gets it without the tests.
bg=$out/jemalloc/bench-guest/jemalloc
rm -rf "$bg"
mkdir -p "$bg"
quiet "$B/log/client-jebench.log" ccache gcc -O2 -g -Wall -static -pthread -isystem "$KHDR" \
	-o "$bg/jebench" "$C/jebench.c" "$out/jemalloc/lib/libjemalloc.a" -lm
# and the two stress programs it times (the others take minutes under TCG)
mkdir -p "$bg/stress"
for t in large_microbench fill_flush; do
	strip -o "$bg/stress/$t" "$tree/test/stress/$t"
done
# (nm into a variable: grep -q would close the pipe under pipefail)
syms=$(nm "$bg/jebench")
grep -q ' T mallctl$' <<<"$syms" ||
	die "$bg/jebench does not have jemalloc linked in"
note "$(wc -l <"$g/tests.list") test programs, $(du -sh "$g" | cut -f1); libjemalloc.a in $out/jemalloc/lib"
echo "$stamp" >"$guest/.stamp"
