#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host test: the man page, the --help text and the bash completion of every
# tool agree.  For each tool: mandoc finds nothing to warn about, the man
# page has the sections every page needs, it documents exactly the long
# options --help prints, and the completion offers each of them.  TAP.
srcdir=${UBD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${UBD_BUILDDIR:-$srcdir}

TOOLS="ubdctl ubd-loop ubd-nbd ubd-null ubd-stat"
# ubdctl: the commands whose own --help lists their options
UBDCTL_CMDS="add del list features"
SECTIONS=("NAME" "SYNOPSIS" "DESCRIPTION" "OPTIONS" "EXIT STATUS"
	  "ENVIRONMENT" "FILES" "EXAMPLES" "SEE ALSO")
CHECKS_PER_TOOL=4

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	failed=1
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# print each line of stdin as a TAP diagnostic
diag() {
	sed 's/^/#   /'
}

# the long options of "<tool> --help" (for ubdctl, of each command too)
help_longopts() {
	local tool=$1 bin=$builddir/cmd/$1 cmd
	{
		"$bin" --help
		if [ "$tool" = ubdctl ]; then
			for cmd in $UBDCTL_CMDS; do
				"$bin" "$cmd" --help
			done
		fi
	} | grep -o -- '--[[:alnum:]][[:alnum:]-]*' | sort -u
}

# the long options the man page names (\-\-opt\-name), comments left out
man_longopts() {
	grep -v '^\.\\"' "$1" |
		grep -o -- '\\-\\-[[:alnum:]]\([[:alnum:]]\|\\-\)*' |
		sed 's/\\-/-/g; s/-*$//' | sort -u
}

# the words of the completion script that look like long options
completion_longopts() {
	grep -o -- '--[[:alnum:]][[:alnum:]-]*' "$1" | sort -u
}

echo "1..$(( $(wc -w <<<"$TOOLS") * CHECKS_PER_TOOL ))"

for tool in $TOOLS; do
	man=$srcdir/man/$tool.8
	comp=$srcdir/bash-completion/$tool
	bin=$builddir/cmd/$tool

	# (a) mandoc -Tlint
	if [ ! -f "$man" ]; then
		not_ok "$tool: man page lints clean"
		echo "# no $man"
	elif ! command -v mandoc >/dev/null; then
		skip "$tool: man page lints clean" "mandoc is not installed"
	else
		out=$(mandoc -Tlint -W warning "$man" 2>&1)
		if [ -z "$out" ]; then
			ok "$tool: man page lints clean"
		else
			not_ok "$tool: man page lints clean"
			diag <<<"$out"
		fi
	fi

	# (b) the sections
	if [ -f "$man" ]; then
		have=$(sed -n 's/^\.SH[[:blank:]]*//p' "$man" | tr -d '"')
		missing=()
		for s in "${SECTIONS[@]}"; do
			grep -qx -- "$s" <<<"$have" || missing+=("$s")
		done
		if [ ${#missing[@]} = 0 ]; then
			ok "$tool: man page has every section"
		else
			not_ok "$tool: man page has every section"
			printf '%s\n' "${missing[@]}" | sed 's/^/missing: /' | diag
		fi
	else
		not_ok "$tool: man page has every section"
		echo "# no $man"
	fi

	if [ ! -x "$bin" ]; then
		skip "$tool: man page documents the long options of --help" \
			"no $bin"
		skip "$tool: completion offers the long options of --help" \
			"no $bin"
		continue
	fi
	help=$(help_longopts "$tool")

	# (c) --help and the man page name the same long options
	if [ -f "$man" ]; then
		inman=$(man_longopts "$man")
		only_help=$(comm -23 <(echo "$help") <(echo "$inman"))
		only_man=$(comm -13 <(echo "$help") <(echo "$inman"))
		if [ -z "$only_help$only_man" ]; then
			ok "$tool: man page documents the long options of --help"
		else
			not_ok "$tool: man page documents the long options of --help"
			[ -z "$only_help" ] ||
				sed 's/^/in --help, not in the man page: /' \
					<<<"$only_help" | diag
			[ -z "$only_man" ] ||
				sed 's/^/in the man page, not in --help: /' \
					<<<"$only_man" | diag
		fi
	else
		not_ok "$tool: man page documents the long options of --help"
		echo "# no $man"
	fi

	# (d) the completion offers every long option of --help
	if [ -f "$comp" ]; then
		missing=$(comm -23 <(echo "$help") \
			<(completion_longopts "$comp"))
		if [ -z "$missing" ]; then
			ok "$tool: completion offers the long options of --help"
		else
			not_ok "$tool: completion offers the long options of --help"
			sed 's/^/not in the completion: /' <<<"$missing" | diag
		fi
	else
		not_ok "$tool: completion offers the long options of --help"
		echo "# no $comp"
	fi
done
exit $failed
