#!/bin/sh
# wordfreq [--top N] [--min-length N] < text > table
#
# An ordinary Unix program that knows nothing about BOINC: it counts the
# words of the text on its standard input and prints "COUNT WORD" lines,
# the most frequent first (ties in alphabetical order), at most N of them
# (--top; default all), leaving out words shorter than --min-length.
# The C locale makes the table byte-for-byte the same on every machine,
# so a validator can compare two hosts' results bitwise.
set -eu
top=0
min=1
while [ $# -gt 0 ]; do
    case "$1" in
        --top) top=${2:?--top needs a number}; shift 2 ;;
        --min-length) min=${2:?--min-length needs a number}; shift 2 ;;
        *) echo "wordfreq: unknown option $1" >&2; exit 2 ;;
    esac
done
LC_ALL=C
export LC_ALL
tr -cs 'A-Za-z' '\n' | tr 'A-Z' 'a-z' |
    awk -v min="$min" 'length($0) >= min' |
    sort | uniq -c | awk '{ print $1, $2 }' | sort -k1,1nr -k2,2 |
    awk -v top="$top" 'top == 0 || NR <= top'
