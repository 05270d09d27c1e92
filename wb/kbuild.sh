#!/usr/bin/env bash
# Configure and build one kernel config of build/linux into build/obj-NAME.
#   wb/kbuild.sh NAME [make args...]
# NAME is fast, debug or novrange: tinyconfig plus configs/NAME's fragments
# (configs/NAME.list names them, in order; see kconfig in common.sh).
# Incremental: the .config is only regenerated when a fragment changed, and
# kbuild rebuilds what depends on it.
. "$(dirname "$0")/common.sh"

name=${1:?config name}; shift
obj=${OBJ:-$(objdir "$name")}
mapfile -t frags < <(config_frags "$name")
mkdir -p "$obj"
[ -e "$SRC/.git" ] || die "no kernel tree at $SRC: run make tree"

KMAKE=(make -C "$SRC" O="$obj" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc")
kconfig "$obj" "$name" "${frags[@]}" || die "the $name config lost options above"

if [ $# -gt 0 ]; then
	"${KMAKE[@]}" "$@"
else
	stage "building the $name kernel (log: ${obj#$TOP/}/build.log)"
	start=$(date +%s)
	quiet "$obj/build.log" "${KMAKE[@]}" bzImage
	note "$name kernel built in $(( $(date +%s) - start ))s"
fi
