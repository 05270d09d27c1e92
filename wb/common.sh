# Sourced by the workbench scripts: paths, logging, small helpers.
# shellcheck shell=bash
set -euo pipefail

# Debian's tools first (its python3 has the modules scripts/ needs, e.g. ply).
export PATH=/usr/bin:/bin:/usr/sbin:/sbin:$PATH
TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
WB=$TOP/wb
B=$TOP/build
SRC=${SRC:-$B/linux}
# The base commit and the series' branch in build/linux (wb/series.py).
BASE_TAG=vrange-base
BRANCH=vrange
JOBS=${JOBS:-$(( $(nproc) + 1 ))}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/vrange-ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# Paths under build/ enter ccache's hash relative to the obj dir, so the
# novrange and bisect builds (build/bisect/{linux,obj-fast}) hit the cache
# that the fast build filled.
export CCACHE_BASEDIR=$B
# Kernel builds are made reproducible enough for ccache to hit across obj dirs.
export KBUILD_BUILD_TIMESTAMP='2024-01-01 00:00:00 UTC'
export KBUILD_BUILD_USER=vrange KBUILD_BUILD_HOST=workbench

# res PASS|FAIL|SKIP NAME [DETAIL]: one result line into $RESULTS (a .tsv).
res()   { "$WB/verdict.py" add "${RESULTS:?}" "$@"; }
stage() { printf '==> %s\n' "$*" >&2; }
note()  { printf '    %s\n' "$*" >&2; }
die()   { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# obj dir of a kernel config (fast, debug, novrange)
objdir() { echo "$B/obj-$1"; }

# run a long command quietly, its output in a log; show the tail on failure
quiet() {
	local log=$1; shift
	mkdir -p "$(dirname "$log")"
	if ! "$@" >"$log" 2>&1; then
		printf 'ERROR: %s failed; last lines of %s:\n' "$*" "$log" >&2
		tail -n 40 "$log" >&2
		return 1
	fi
}

# The host's TSC frequency in kHz (from its kernel log), or nothing. Under
# TCG a guest's TSC counts at the host's rate, so a guest given this value
# (tsc_early_khz=) need not calibrate against the emulated PIT.
host_tsc_khz() {
	local mhz
	mhz=$( { dmesg 2>/dev/null || true; } |
		sed -n -e 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' \
		       -e 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n1)
	[ -n "$mhz" ] && awk -v m="$mhz" 'BEGIN { printf "%d\n", m * 1000 }'
	return 0
}

# A worktree of build/linux's repo at DIR (detached; created once, at the base).
worktree() {
	local dir=$1
	if [ -e "$dir/.git" ] && git -C "$dir" rev-parse --git-dir >/dev/null 2>&1; then
		return 0
	fi
	rm -rf "$dir"
	git -C "$SRC" worktree prune
	mkdir -p "$(dirname "$dir")"
	git -C "$SRC" worktree add -q -f --detach "$dir" "$BASE_TAG"
}

# The fragments configs/NAME.list names, one path a line. An entry
# "tree:PATH" is a fragment of the kernel tree itself (the selftests' config,
# mm/tests/.kunitconfig), read from $FRAG_SRC (default $SRC), so that what a
# kselftest or kunit.py user gets is what the tests run on.
config_frags() {
	local list=$TOP/configs/$1.list f
	[ -f "$list" ] || die "no configs/$1.list"
	while read -r f; do
		[ -n "$f" ] && [ "${f#\#}" = "$f" ] || continue
		case $f in
		tree:*) echo "${FRAG_SRC:-$SRC}/${f#tree:}" ;;
		*) echo "$TOP/configs/$f" ;;
		esac
	done <"$list"
}

# kconfig OBJ KEY FRAG...: configure OBJ as tinyconfig + the fragments with
# make "${KMAKE[@]}" (ARCH, CROSS_COMPILE and O= in it), unless OBJ already has
# them (KEY and the fragments' content are the stamp). Kconfig drops what it
# cannot satisfy without a word: every line of every fragment must be in the
# result (the last fragment that names a symbol says what it must be), else
# the options lost are printed and it returns 1 (KBUILD_NOCHECK=1: it only
# prints them).
kconfig() {
	local obj=$1 key=$2 want bad=0 line sym f
	shift 2
	for f in "$@"; do
		[ -f "$f" ] || { note "no config fragment $f"; return 1; }
	done
	want=$(printf '%s\n' "$key" | cat - "$@" | sha1sum | cut -c1-40)
	[ -f "$obj/.config" ] && [ "$(cat "$obj/.vrange-frags" 2>/dev/null)" = "$want" ] && return 0
	stage "configuring ${obj#$TOP/} (tinyconfig + $(printf '%s ' "${@##*/}"))"
	quiet "$obj/config.log" "${KMAKE[@]}" tinyconfig || return 1
	quiet "$obj/config.log" "$SRC/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$@" || return 1
	quiet "$obj/config.log" "${KMAKE[@]}" olddefconfig || return 1
	while read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%=n}
			grep -q "^$sym=" "$obj/.config" && { note "wanted $line, got $(grep "^$sym=" "$obj/.config")"; bad=1; } ;;
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" || {
			note "wanted $line, got $(grep "^${line%%=*}[= ]" "$obj/.config" || echo 'not set')"; bad=1; } ;;
		esac
	done < <(sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set/\1=n/p; /^CONFIG_/p' "$@" |
		 awk -F= '{v[$1]=$0; if (!($1 in o)) o[$1]=++n} END {for (k in o) print o[k] "\t" v[k]}' |
		 sort -n | cut -f2)
	[ $bad -eq 0 ] || [ -n "${KBUILD_NOCHECK:-}" ] || return 1
	echo "$want" >"$obj/.vrange-frags"
}
