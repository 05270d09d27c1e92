#!/usr/bin/env bash
# Lint the series' man pages, man/man2/*.2 (vrange(2), fvrange(2)), as the
# man-pages project would, and build their EXAMPLES.
#   wb/man.sh [RESULTS]   (default build/results/man.tsv)
# Environment: MAN_PAGES (the pages; default man/man2/*.2)
# Results, for each PAGE:
#   man:mandoc:PAGE    `mandoc -Tlint -W warning` prints nothing, but for the
#                      one warning that man-pages' own lint accepts (below)
#   man:groff:PAGE     man-db's `man -l` through groff with every warning
#                      enabled (-ww) at 80 columns prints nothing
#   man:example:PAGE   each program between `.\" SRC BEGIN (NAME.c)` and
#                      `.\" SRC END`, as mandoc renders it, builds with
#                      gcc -Wall -Wextra -Werror against the series' uapi
#                      headers (a page with none gets no example result)
. "$(dirname "$0")/common.sh"

out=${1:-$B/results/man.tsv}
mkdir -p "$(dirname "$out")" "$B/log"
RESULTS=$out

"$WB/deps.sh" mandoc man-db groff-base bsdextrautils

# The uapi headers as installed by the fast build (make headers_install puts
# asm/unistd_64.h with __NR_vrange there); else the source's uapi headers,
# which give <linux/vrange.h> and the generic table's numbers.
inc=$(objdir fast)/usr/include
if [ ! -f "$inc/linux/vrange.h" ] && [ -f "$(objdir fast)/.config" ]; then
	quiet "$B/log/headers.log" make -C "$SRC" O="$(objdir fast)" headers
fi
if [ ! -f "$inc/linux/vrange.h" ]; then
	inc=$SRC/include/uapi
	note "no headers_install in $(objdir fast): examples built against $inc"
fi

# man-pages keeps `.TH title section (date) "Linux man-pages (unreleased)"`
# in its source tree and puts the date in when it makes a release, so its
# own lint (share/mk/lint/man/mandoc.mk) drops exactly this warning. Only
# this one, with this text, and only on the .TH line, is dropped.
mandoc_filter() {
	grep -v -E '^mandoc: [^:]+:[0-9]+:[0-9]+: WARNING: cannot parse date, using it verbatim: TH \(date\)$' || true
}

# The programs of a page, written to DIR/NAME.c; prints their names.
extract_examples() {
	local page=$1 dir=$2
	awk -v dir="$dir" '
		/^\.\\" SRC BEGIN \(/ {
			name = $0
			sub(/^\.\\" SRC BEGIN \(/, "", name); sub(/\).*$/, "", name)
			file = dir "/" name ".roff"
			print ".TH EXAMPLE 1 2000-01-01" > file
			print ".SH PROGRAM" > file
			in_src = 1; print name; next
		}
		/^\.\\" SRC END/ { in_src = 0; close(file); next }
		in_src { print > file }
	' "$page"
	local f
	for f in "$dir"/*.roff; do
		[ -e "$f" ] || continue
		# Rendered as a reader sees it: \- \[aq] \e \& become C again.
		# mandoc indents by 7 columns; the header and footer go.
		mandoc -Tascii -O width=200 "$f" | col -bx |
			sed -e '1,/^PROGRAM$/d' -e '$d' | sed -e 's/^       //' |
			sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"${f%.roff}"
	done
}

pages=${MAN_PAGES:-$(ls "$TOP"/man/man2/*.2 2>/dev/null || true)}
[ -n "$pages" ] || die "no man pages under $TOP/man/man2"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for page in $pages; do
	name=$(basename "$page")
	stage "man: $name"

	# mandoc exits 2 for a warning (the accepted one too), 3 and 4 for
	# errors and unsupported input, which it prints; 5 and up: it could
	# not run at all.
	st=0
	msg=$(mandoc -Tlint -W warning "$page" 2>&1) || st=$?
	msg=$(printf '%s\n' "$msg" | mandoc_filter)
	[ "$st" -lt 5 ] || msg="mandoc failed (status $st): $msg"
	if [ -z "$msg" ]; then
		res PASS "man:mandoc:$name"
	else
		res FAIL "man:mandoc:$name" "$msg"
	fi

	# man-db runs preconv, tbl and groff -man -Tutf8; --warnings=w is -ww.
	msg=$(LC_ALL=C.UTF-8 MANWIDTH=80 \
		man --warnings=w -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null) ||
		msg="man -l failed (status $?): $msg"
	if [ -z "$msg" ]; then
		res PASS "man:groff:$name"
	else
		res FAIL "man:groff:$name" "$msg"
	fi

	dir=$tmp/${name%.*}
	mkdir -p "$dir"
	progs=$(extract_examples "$page" "$dir")
	[ -n "$progs" ] || continue
	bad=
	for prog in $progs; do
		log=$B/log/man-example-$prog.log
		if ! gcc -Wall -Wextra -Werror -I"$inc" -o "$dir/${prog%.c}" \
			"$dir/$prog" >"$log" 2>&1; then
			bad+="$prog: $(head -n 20 "$log")"$'\n'
		fi
	done
	if [ -z "$bad" ]; then
		res PASS "man:example:$name" "$progs"
	else
		res FAIL "man:example:$name" "$bad"
	fi
done
