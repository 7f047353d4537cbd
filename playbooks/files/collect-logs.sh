#!/bin/sh
# collect-logs.sh HOST OUT SINCE PATHS UNITS: pack this host's daemon log files and the systemd journal
# of its units into OUT (tar.gz, one top folder HOST with files/ and journal/).
# SINCE: "" (everything) or a time GNU find and journalctl read ("2026-11-30 10:00:00 UTC").
# PATHS, UNITS: space-separated; missing paths and units never installed are skipped.
set -eu
host="$1"; out="$2"; since="$3"; paths="$4"; units="$5"
work=$(mktemp -d /tmp/bigdata-logs.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/$host/files" "$work/$host/journal"
: > "$work/list"
for p in $paths; do
    [ -e "$p" ] || continue
    if [ -n "$since" ]; then
        find "$p" -type f -newermt "$since" -print0 >> "$work/list"
    else
        find "$p" -type f -print0 >> "$work/list"
    fi
done
# Copied with their full paths under files/ (tar drops the leading /); a log growing while it is read
# is taken as far as it was read.
tar --null -T "$work/list" -cf - 2>/dev/null | tar -xpf - -C "$work/$host/files"
rm -f "$work/list"
for u in $units; do
    systemctl cat "$u.service" >/dev/null 2>&1 || continue
    if [ -n "$since" ]; then
        journalctl -u "$u.service" --no-pager -o short-iso --since "$since" > "$work/$host/journal/$u.log" || true
    else
        journalctl -u "$u.service" --no-pager -o short-iso > "$work/$host/journal/$u.log" || true
    fi
done
tar -C "$work" -czf "$out" "$host"
