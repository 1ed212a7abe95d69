#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/profile-report.py SAMPLES MARKS TOP - the top of each CPU's samples.

Runs in the guest, where /proc/kallsyms names the kernel's addresses.
SAMPLES is what tests/vm/ripsample wrote (one line per stop, a RIP per vCPU);
MARKS holds lines "NAME FIRST LAST [MAPS]": the sample lines (1-based) taken
while NAME ran, and a file of "OWNER START END FILE" lines, the executable
mappings of the processes that ran then.  Prints, for each NAME and CPU, the
TOP kernel functions by share of the samples; user space by the process and
file its address falls in.
"""
import bisect
import collections
import os
import sys


def user_space(maps, a):
    for owner, start, end, path in maps:
        if start <= a < end:
            return f"[user] {owner}: {os.path.basename(path)}"
    return "[user] other"


def main(samples, marks, top):
    syms = []
    with open("/proc/kallsyms") as f:
        for line in f:
            a, t, name, *mod = line.split()
            if t in "tTwW":
                syms.append((int(a, 16), name + (" " + mod[0] if mod else "")))
    syms.sort()
    addrs = [a for a, _ in syms]
    if not addrs or addrs[-1] == 0:
        sys.exit("profile-report: /proc/kallsyms shows no addresses (kptr_restrict?)")
    lines = open(samples).read().splitlines()
    for mark in open(marks).read().splitlines():
        name, first, last, *mapsfile = mark.split()
        maps = []
        for f in mapsfile:
            for line in open(f):
                owner, start, end, path = line.split(maxsplit=3)
                maps.append((owner, int(start, 16), int(end, 16), path.strip()))
        rows = [l.split() for l in lines[int(first) - 1:int(last)]]
        rows = [r for r in rows if r]
        if not rows:
            print(f"== {name}: no samples")
            continue
        for cpu in range(len(rows[0])):
            c = collections.Counter()
            for r in rows:
                a = int(r[cpu], 16)
                if a < 0xffff800000000000:
                    c[user_space(maps, a)] += 1
                else:
                    i = bisect.bisect_right(addrs, a) - 1
                    c[syms[i][1] if i >= 0 else "[unknown]"] += 1
            print(f"== {name}, CPU {cpu}: {len(rows)} samples")
            for k, v in c.most_common(top):
                print(f"{100 * v / len(rows):6.2f}%  {k}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
