#!/usr/bin/env bash
# Configure and build one kernel config of build/linux into build/obj-NAME.
#   wb/kbuild.sh NAME [make args...]
# NAME is fast, debug or novrange: tinyconfig plus configs/NAME's fragments
# (configs/NAME.list names them, in order). Incremental: the .config is only
# regenerated when a fragment changed, and kbuild rebuilds what depends on it.
. "$(dirname "$0")/common.sh"

name=${1:?config name}; shift
obj=${OBJ:-$(objdir "$name")}
list=$TOP/configs/$name.list
[ -f "$list" ] || die "no configs/$name.list"
frags=()
while read -r f; do
	[ -n "$f" ] && [ "${f#\#}" = "$f" ] && frags+=("$TOP/configs/$f")
done <"$list"
mkdir -p "$obj"
[ -e "$SRC/.git" ] || die "no kernel tree at $SRC: run make tree"

KMAKE=(make -C "$SRC" O="$obj" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc")

want=$(cat "$list" "${frags[@]}" | sha1sum | cut -c1-40)
if [ ! -f "$obj/.config" ] || [ "$(cat "$obj/.vrange-frags" 2>/dev/null)" != "$want" ]; then
	stage "configuring $name (tinyconfig + ${frags[*]##*/})"
	quiet "$obj/config.log" "${KMAKE[@]}" tinyconfig
	quiet "$obj/config.log" "$SRC/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${frags[@]}"
	quiet "$obj/config.log" "${KMAKE[@]}" olddefconfig
	# Kconfig drops what it cannot satisfy without a word: every line of
	# every fragment must be in the result, or the test would be a lie.
	# The last fragment that names a symbol says what it must be.
	bad=0
	while read -r line; do
		case "$line" in
		CONFIG_*=n) sym=${line%=n}
			grep -q "^$sym=" "$obj/.config" && { echo "  wanted $line, got $(grep "^$sym=" "$obj/.config")" >&2; bad=1; } ;;
		CONFIG_*=*) grep -qxF "$line" "$obj/.config" || {
			echo "  wanted $line, got $(grep "^${line%%=*}[= ]" "$obj/.config" || echo 'not set')" >&2; bad=1; } ;;
		esac
	done < <(sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set/\1=n/p; /^CONFIG_/p' "${frags[@]}" |
		 awk -F= '{v[$1]=$0; if (!($1 in o)) o[$1]=++n} END {for (k in o) print o[k] "\t" v[k]}' |
		 sort -n | cut -f2)
	[ $bad -eq 0 ] || [ -n "${KBUILD_NOCHECK:-}" ] || die "the $name config lost options above"
	echo "$want" >"$obj/.vrange-frags"
fi

if [ $# -gt 0 ]; then
	"${KMAKE[@]}" "$@"
else
	stage "building the $name kernel (log: ${obj#$TOP/}/build.log)"
	start=$(date +%s)
	quiet "$obj/build.log" "${KMAKE[@]}" bzImage
	note "$name kernel built in $(( $(date +%s) - start ))s"
fi
