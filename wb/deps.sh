#!/usr/bin/env bash
# Install what the workbench needs from Debian's archive (as root, apt-get).
#   wb/deps.sh [PACKAGE...]   the workbench's packages, and these too
# The kernel base is linux-source-6.12 at the version recorded in base-version;
# when that version is no longer served, the newest 6.12 is taken, loudly.
. "$(dirname "$0")/common.sh"

PKGS="qemu-system-x86 busybox-static sparse flex bison libelf-dev libssl-dev bc cpio
      xz-utils ccache python3 python3-ply python3-git gcc make git perl kmod file rsync $*"
want=$(cat "$TOP/base-version")

missing=()
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
have=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null || true)
[ "$have" = "$want" ] || missing+=("linux-source-6.12")

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
stage "installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
quiet "$B/log/apt-update.log" $SUDO apt-get update
pkgs=()
for p in "${missing[@]}"; do
	if [ "$p" = linux-source-6.12 ]; then
		if apt-cache madison linux-source-6.12 | awk '{print $3}' | grep -qxF "$want"; then
			pkgs+=("linux-source-6.12=$want")
		else
			newest=$(apt-cache madison linux-source-6.12 | awk 'NR==1{print $3}')
			[ -n "$newest" ] || die "no linux-source-6.12 package is served"
			cat >&2 <<MSG
################################################################################
WARNING: linux-source-6.12 $want (base-version) is no longer served.
WARNING: using $newest instead; the series was last tested on $want.
WARNING: update base-version once the series passes on $newest.
################################################################################
MSG
			pkgs+=("linux-source-6.12=$newest")
		fi
	else
		pkgs+=("$p")
	fi
done
quiet "$B/log/apt-install.log" $SUDO apt-get install -y --no-install-recommends --allow-downgrades "${pkgs[@]}"
