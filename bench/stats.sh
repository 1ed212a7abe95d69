# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# bench/stats.sh - small figures for the guest halves of bench/ab and
# bench/busy-cpu; sourced.

# the median of the numbers on stdin, one a line
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# $1 / $2, two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
