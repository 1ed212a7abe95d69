#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host test: no bats assertion written as "! cmd" where it cannot fail.
# bats runs tests under set -e, and bash's set -e ignores a negated
# command: "! grep -q x f" fails a test only as the last command of the
# test or function.  Anywhere else it must be "not cmd" (common.bash).
# A negation is allowed where its status is used: at the end of a block,
# or followed by || or &&.  TAP.
srcdir=${UBD_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}

n=0
failed=0

# print "file:line: text" for each negation whose status is lost
lost_negations() {
	awk '
	function report() {
		if (neg && !used)
			printf "%s:%d: %s\n", FILENAME, negline, negtext
		neg = 0
	}
	FNR == 1 { report(); cont = 0 }
	{
		line = $0
		sub(/[ \t]+#.*$/, "", line)
		if (line ~ /^[ \t]*$/ || line ~ /^[ \t]*#/)
			next
		if (neg && !cont) {
			# the next statement decides: the end of a block uses it
			used = used || line ~ /^[ \t]*}/
			report()
		}
		if (!cont && line ~ /^[ \t]*! /) {
			neg = 1; used = 0; negline = FNR; negtext = $0
		}
		if (neg && line ~ /\|\||&&/)
			used = 1
		cont = line ~ /(\\|\|\||&&|\|)$/
	}
	END { report() }
	' "$@"
}

check() { # $1 = description, the rest: the command that must succeed
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=1
	fi
}

# the lint itself: it must see a lost negation, and pass the good forms
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
printf '%s\n' '@test "x" {' '	! grep -q a /f' '	true' '}' >"$tmp"
check "a lost negation is found" test -n "$(lost_negations "$tmp")"
printf '%s\n' 'f() {' '	! pgrep x' '}' 'g() {' '	! a \' '		b ||' \
	'		skip y' '	not grep a /f' '}' >"$tmp"
check "a negation that ends a block or feeds || passes" \
	test -z "$(lost_negations "$tmp")"

for f in "$srcdir"/tests/*.bats "$srcdir"/tests/*.bash; do
	lost=$(lost_negations "$f")
	[ -z "$lost" ] || printf '# %s\n' "$lost"
	check "${f#"$srcdir"/}: every negated assertion can fail" test -z "$lost"
done
echo "1..$n"
exit $failed
