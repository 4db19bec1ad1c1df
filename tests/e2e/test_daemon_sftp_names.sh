#!/usr/bin/env bash
# What a pull inbox takes from the server's folder, with pattern "*" (docs/formats.md, "Names
# that are never picked up"): never answers, hidden names or client temporary names (the
# server's log shows them never opened); symbolic links, folders, FIFOs and names with control
# characters are skipped and logged once; an empty file and a binary file are downloaded and
# rejected as a whole (EMPTY_FILE, NOT_UTF8), answered like any other; a good file beside them
# flows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
{ config_head; sftp_inbox names s1 "$R/in" "$R/out" 'pattern: "*"'; } > "$CONFIG"
good() { conv_file "$R/in/$2" "$1 10.00"; }
# Never picked up: each would be a valid file.
never=(receipt_a.csv result_a.csv errors_a.csv a.csv_summary.json a.csv.done .hidden.csv a.csv.part a.csv.filepart a.csv.tmp)
n=0
for name in "${never[@]}"; do n=$((n + 1)); good "NEVER-$n" "$name"; done
# Skipped and logged.
ln -s "$CONFIG" "$R/in/link.csv"
mkdir "$R/in/folder.csv"
mkfifo "$R/in/pipe.csv"
good CTRL-1 $'tab\tname.csv'
# Rejected as a whole.
: > "$R/in/empty.csv"
printf '%s\r\nBIN-1,CMP,19816,P-77,O-9,%s,1\xff\xfe.00\r\n' "$CONV_HEADER" "$EVENT_DATE" > "$R/in/binary.csv"
good OK-1 ok.csv

daemon_start 1
for f in ok.csv empty.csv binary.csv; do wait_for 30 test -f "$R/out/${f}_summary.json"; done
[ "$(json_field "$R/out/ok.csv_summary.json" applied)" = 1 ] || fail "ok.csv: $(cat "$R/out/ok.csv_summary.json")"
[ "$(json_field "$R/out/empty.csv_summary.json" error_code)" = EMPTY_FILE ] || fail "empty.csv: $(cat "$R/out/empty.csv_summary.json")"
[ "$(json_field "$R/out/binary.csv_summary.json" error_code)" = NOT_UTF8 ] || fail "binary.csv: $(cat "$R/out/binary.csv_summary.json")"
# Several more polls, then nothing else may have been opened or answered.
listed=$(sftp_listings s1 "$R/in")
wait_for 30 at_least $((listed + 4)) sftp_listings s1 "$R/in"
grep -E '^open "' "$(sshd_dir s1)/sftp.log" | grep 'flags READ' | sed -E 's/^open "([^"]*)".*/\1/' | sort > "$WORK/opened"
printf '%s\n' "$R/in/binary.csv" "$R/in/empty.csv" "$R/in/ok.csv" | sort > "$WORK/want_opened"
diff "$WORK/want_opened" "$WORK/opened" > /dev/null || { diff "$WORK/want_opened" "$WORK/opened"; show_logs; fail "files other than the three were opened"; }
find "$R/out" -name '*_summary.json' -printf '%f\n' | sort > "$WORK/answered"
printf '%s\n' binary.csv_summary.json empty.csv_summary.json ok.csv_summary.json > "$WORK/want_answered"
diff "$WORK/want_answered" "$WORK/answered" > /dev/null || { diff "$WORK/want_answered" "$WORK/answered"; fail "other files were answered"; }
for name in link.csv folder.csv pipe.csv; do
    c=$(grep -c "inbox=names[^a-z0-9_.-].*${name}" "$DLOG" || true)
    [ "$c" = 1 ] || { show_logs; fail "$name: logged $c times, expected once"; }
done
grep -q "inbox=names[^a-z0-9_.-].*tab.*name.csv" "$DLOG" || { show_logs; fail "the name with a tab was not logged"; }
[ "$(grep -c "inbox=names[^a-z0-9_.-].*tab.*name.csv" "$DLOG")" = 1 ] || { show_logs; fail "the name with a tab was logged more than once"; }
if grep -q $'\t' "$DLOG"; then fail "a control character reached the log"; fi
for name in "${never[@]}"; do
    if grep -E "file=$name (pulled|status=)" "$DLOG"; then show_logs; fail "$name was taken"; fi
done
[ -n "$(find "$STATE/failed/names" -name '*_empty.csv' 2> /dev/null)" ] || fail "empty.csv not set aside in failed/"
no_temporaries "$R/out"
daemon_stop
echo "sftp names: ok"
