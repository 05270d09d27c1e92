#!/usr/bin/env bash
# make cross: build the series for other ABIs at W=1 with sparse (C=1) and
# fail on any new diagnostic in the files the series touches.
#   wb/cross.sh [TARGET...]    default: $CROSS_TARGETS, else all four:
#     i386             configs/cross-i386.config   (i686-linux-gnu-gcc)
#     arm64            configs/cross-arm64.config  (aarch64-linux-gnu-gcc)
#     x86_64           configs/fast.list's fragments          (CONFIG_VRANGE=y)
#     x86_64-novrange  configs/novrange.list's fragments      (CONFIG_VRANGE=n)
# Each is tinyconfig plus its fragments (every line of them must survive
# Kconfig), built into build/obj-cross-TARGET (CROSS_OBJ=DIR: DIR/TARGET),
# each make bounded by CROSS_TIMEOUT seconds (default 2400). Per target:
#   syscalls   `make prepare` runs scripts/checksyscalls.sh: no "syscall
#              vrange/fvrange not implemented" for the target's ABI
#   build      vmlinux with W=1 C=1; the objects of the series' C files are
#              removed first, so that gcc and sparse look at each of them on
#              every run, incremental or not
#   diags      gcc and sparse diagnostics in the files the series adds or
#              edits (git diff --name-only vrange-base), or naming vrange,
#              minus wb/base-diagnostics and wb/accepted-diagnostics. One in
#              a file the series adds, on a line it adds or edits, or naming
#              vrange is new and fails the target; any other is listed in
#              the result as pre-existing (the base lists are made on x86_64).
# CROSS_STEP=prepare stops after the syscalls check.
# The result (date, base, HEAD, per target pass/fail, diagnostics, time) goes
# to wb/cross-result (CROSS_RESULT=FILE elsewhere); logs to the obj dirs.
# SRC=DIR builds another clone of the tree instead of build/linux.
. "$(dirname "$0")/common.sh"

"$WB/deps.sh" gcc-i686-linux-gnu gcc-aarch64-linux-gnu

[ -e "$SRC/.git" ] || die "no kernel tree at $SRC: run make tree"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -a targets <<<"${CROSS_TARGETS:-i386 arm64 x86_64 x86_64-novrange}"
result=${CROSS_RESULT:-$WB/cross-result}
tmo=${CROSS_TIMEOUT:-2400}
step=${CROSS_STEP:-all}
base=$(git -C "$SRC" rev-parse "$BASE_TAG")
head=$(git -C "$SRC" rev-parse HEAD)
known=$(cat "$WB/base-diagnostics" "$WB/accepted-diagnostics" | grep -v '^#' | sed '/^$/d' | sort -u)

# files the series touches; the C files among them (objects to rebuild); the
# lines it adds or edits in each file ("file:line" per line). Against the
# working tree: uncommitted edits in build/linux are part of what is built.
series=$(git -C "$SRC" diff --name-only "$BASE_TAG" | grep -v -e '^tools/' -e '^Documentation/')
added=$(git -C "$SRC" diff --name-only --diff-filter=A "$BASE_TAG")
lines=$(git -C "$SRC" diff -U0 "$BASE_TAG" -- $series | awk '
	/^\+\+\+ b\// { f = substr($0, 7); next }
	/^@@/ { split($3, a, ","); s = substr(a[1], 2); n = (2 in a) ? a[2] : 1
		for (i = 0; i < n; i++) print f ":" s + i }')

# target -> ARCH, cross prefix, fragments
setup() {
	case $1 in
	i386)	arch=i386  cross=i686-linux-gnu-    frags=("$TOP/configs/cross-i386.config") ;;
	arm64)	arch=arm64 cross=aarch64-linux-gnu- frags=("$TOP/configs/cross-arm64.config") ;;
	x86_64|x86_64-novrange)
		arch=x86_64 cross=
		local list=fast
		[ "$1" = x86_64 ] || list=novrange
		mapfile -t frags < <(config_frags $list) ;;
	*)	die "unknown target $1 (i386, arm64, x86_64, x86_64-novrange)" ;;
	esac
	command -v "${cross}gcc" >/dev/null || die "${cross}gcc is not installed"
}

# configure like wb/kbuild.sh (kconfig in common.sh); the stamp names the ABI
configure() { kconfig "$obj" "$arch $cross" "${frags[@]}"; }

# diagnostics of a build log in the series' files: "file:line:col: kind: text"
diags() {
	grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$1" |
		sed -e "s|^$SRC/||" -e "s|^$obj/||" -e 's|^\./||' | sort -u |
		while IFS= read -r d; do
			f=${d%%:*}
			if grep -qxF "$f" <<<"$series" || grep -qi vrange <<<"${d#*: }"; then
				echo "$d"
			fi
		done || true
}

# new: not in the base lists, and in a file the series adds, on a line it
# adds or edits, or naming vrange
classify() {
	local d f l short
	while IFS= read -r d; do
		[ -n "$d" ] || continue
		f=${d%%:*}; l=${d#*:}; l=${l%%:*}
		short=$(sed 's/:[0-9]*:[0-9]*:/:/' <<<"$d")
		grep -qxF "$short" <<<"$known" && continue
		if grep -qxF "$f" <<<"$added" || grep -qxF "$f:$l" <<<"$lines" ||
		   grep -qi vrange <<<"${d#*: }"; then
			echo "new	$d"
		else
			echo "old	$d"
		fi
	done
}

mkdir -p "$(dirname "$result")"
{
	echo "# make cross (wb/cross.sh): W=1 + sparse builds of the series on other ABIs"
	echo "date	$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "src	$SRC"
	echo "base	$base"
	echo "head	$head $(git -C "$SRC" log -1 --format=%s HEAD)$(git -C "$SRC" diff --quiet HEAD || echo ' (+ uncommitted edits)')"
	echo "sparse	$(sparse --version 2>/dev/null || echo none)"
	echo "# target	result	syscalls	new	pre-existing	seconds	compiler"
} >"$result.tmp"
details=$(mktemp)
trap 'rm -f "$details" "$result.tmp"' EXIT

fail=0
for t in "${targets[@]}"; do
	setup "$t"
	obj=${CROSS_OBJ:+$CROSS_OBJ/$t}
	obj=${obj:-$B/obj-cross-$t}
	mkdir -p "$obj"
	KMAKE=(make -C "$SRC" O="$obj" -j"$JOBS" ARCH="$arch" CROSS_COMPILE="$cross"
	       CC="ccache ${cross}gcc" HOSTCC="ccache gcc")
	cc=$("${cross}gcc" -dumpfullversion 2>/dev/null || echo '?')
	stage "cross $t: ARCH=$arch ${cross}gcc $cc (log: $obj/build.log)"
	start=$(date +%s)
	res=PASS sys=ok nnew=0 nold=0
	if ! configure; then
		res=FAIL sys=- ; note "$t: the config lost options above, or did not configure ($obj/config.log)"
	elif ! timeout "$tmo" "${KMAKE[@]}" W=1 prepare >"$obj/prepare.log" 2>&1; then
		res=FAIL sys=- ; note "$t: make prepare failed ($obj/prepare.log)"; tail -n 20 "$obj/prepare.log" >&2
	fi
	if [ "$res" = PASS ]; then
		missing=$(grep -oE 'syscall [a-z0-9_]+ not implemented' "$obj/prepare.log" | sort -u || true)
		if grep -qE 'syscall f?vrange not implemented' <<<"$missing"; then
			res=FAIL sys=missing
			note "$t: $(grep -E 'f?vrange' <<<"$missing" | paste -sd, -)"
		fi
		[ -z "$missing" ] || echo "$t	checksyscalls	$(paste -sd, - <<<"$missing")" >>"$details"
	fi
	if [ "$res" = PASS ] && [ "$step" != prepare ]; then
		for f in $(grep '\.c$' <<<"$series"); do
			rm -f "$obj/${f%.c}.o"
		done
		if ! timeout "$tmo" "${KMAKE[@]}" W=1 C=1 vmlinux >"$obj/build.log" 2>&1; then
			res=FAIL
			note "$t: the build failed or timed out ($obj/build.log)"
			grep -E 'error|Error' "$obj/build.log" | head -n 20 >&2 || true
		fi
		grep -q '^  CHECK ' "$obj/build.log" || note "$t: sparse did not run"
		cls=$(diags "$obj/build.log" | classify || true)
		nnew=$(grep -c '^new' <<<"$cls" || true)
		nold=$(grep -c '^old' <<<"$cls" || true)
		[ "$nnew" -eq 0 ] || res=FAIL
		[ -z "$cls" ] || sed "s/^/$t	/" <<<"$cls" >>"$details"
	fi
	[ "$step" != prepare ] || sys="$sys (prepare only)"
	secs=$(( $(date +%s) - start ))
	echo "$t	$res	$sys	$nnew	$nold	$secs	${cross}gcc $cc" >>"$result.tmp"
	note "$t: $res, syscalls $sys, $nnew new and $nold pre-existing diagnostics, ${secs}s"
	[ "$res" = PASS ] || fail=1
done
{
	echo "# diagnostics and syscalls the targets' checksyscalls still lists"
	cat "$details"
} >>"$result.tmp"
mv "$result.tmp" "$result"
stage "cross: $( [ $fail -eq 0 ] && echo PASS || echo FAIL ) (${result#$TOP/})"
[ -s "$details" ] && sed 's/^/    /' "$details" >&2
exit $fail
