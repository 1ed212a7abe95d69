#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host test of bash-completion/ubdctl: what TAB offers, and that it offers
# every option and column the built ubdctl knows (no drift).  TAP output.
srcdir=${UBD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${UBD_BUILDDIR:-$srcdir}
ubdctl=$builddir/cmd/ubdctl

[[ -r /usr/share/bash-completion/bash_completion ]] &&
	. /usr/share/bash-completion/bash_completion >/dev/null 2>&1
. "$srcdir/bash-completion/ubdctl"

# no /sys/class/ubd-char on the host: two made-up devices
_ubdctl_ids() { printf '%s\n' 3 7; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0

# complete "$@" (the last word is the one being completed); sorted reply
complete_words()
{
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_ubdctl_module ubdctl "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

check()
{
	local name=$1 want=$2 got=$3

	n=$((n + 1))
	if [[ $got == "$want" ]]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		echo "#   want: '$want'"
		echo "#   got:  '$got'"
		failed=1
	fi
}

skip()
{
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

sorted() { tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# the long options in "ubdctl $1 --help"
help_longopts()
{
	"$ubdctl" $1 --help | grep -o -- '--[a-z][a-z-]*' | sorted
}

echo "1..21"
check "commands" "add del features list quiesce recover resize" "$(complete_words ubdctl '')"
check "command prefix" "list" "$(complete_words ubdctl li)"
check "global options" "--control --help --version" \
	"$(complete_words ubdctl --)"
: >"$tmp/control-node"
check "--control completes paths" "$tmp/control-node" \
	"$(complete_words ubdctl --control "$tmp/cont")"
check "command after --control PATH" "--help --json" \
	"$(complete_words ubdctl --control /dev/x features --)"
check "add options" "--depth --help --id --max-io --queues --recovery --show" \
	"$(complete_words ubdctl add --)"
check "no completion for a number" "" "$(complete_words ubdctl add -q '')"
check "del options" "--all --force --help --timeout" \
	"$(complete_words ubdctl del --)"
check "del ids" "3 7" "$(complete_words ubdctl del '')"
check "recovery modes" "--recovery=fail-io --recovery=off --recovery=on --recovery=reissue" \
	"$(complete_words ubdctl add --recovery= | sorted)"
check "recover ids" "3 7" "$(complete_words ubdctl recover '')"
check "quiesce options" "--help --timeout" \
	"$(complete_words ubdctl quiesce --)"
check "resize: an id, then no completion for the size" "3 7|" \
	"$(complete_words ubdctl resize '')|$(complete_words ubdctl resize 3 '')"
check "list ids" "3 7" "$(complete_words ubdctl list -J '')"
check "list options" "--output --output-all" \
	"$(complete_words ubdctl list --out)"
check "-O column" "STATE" "$(complete_words ubdctl list -O ST)"
check "-O comma list" "NAME,SIZE NAME,STATE" \
	"$(complete_words ubdctl list -O NAME,S)"
check "-O +list, lower case" "+ID,DEPTH +ID,DIO" \
	"$(complete_words ubdctl list --output +ID,d)"

if [[ -x $ubdctl ]]; then
	check "columns match ubdctl --help" \
		"$("$ubdctl" --help | sed -n '/^Available output columns/,/^$/p' |
		   awk 'NR > 1 && NF { print $1 }' | sorted)" \
		"$(complete_words ubdctl list -O '' | sorted)"
	all=""
	for cmd in add del list recover quiesce resize features; do
		all+="$cmd: $(help_longopts "$cmd") | "
	done
	got=""
	for cmd in add del list recover quiesce resize features; do
		got+="$cmd: $(complete_words ubdctl "$cmd" -- | sorted) | "
	done
	check "options match each command's --help" "$all" "$got"
	check "global options match ubdctl --help" \
		"$("$ubdctl" --help | sed -n '/^Options:/,/^$/p' |
		   grep -o -- '--[a-z][a-z-]*' | sorted)" \
		"$(complete_words ubdctl -- | sorted)"
else
	skip "columns match ubdctl --help" "no $ubdctl"
	skip "options match each command's --help" "no $ubdctl"
	skip "global options match ubdctl --help" "no $ubdctl"
fi
exit $failed
