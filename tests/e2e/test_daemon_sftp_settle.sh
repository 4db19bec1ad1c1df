#!/usr/bin/env bash
# A pull inbox takes a file only once its (size, mtime) has stayed the same for `settle` on
# the daemon's own clock: a file on the server appended in complete rows over several
# polls (each pause shorter than settle) is not taken early, and ends up as one batch
# holding every row. The server's log shows that the folder was polled meanwhile.
# An inbox with done_file: true waits for NAME.done however stable the file is.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
mkdir -p "$R/in" "$R/out"
{
    config_head
    sftp_inbox slow s1 "$R/in" "$R/out" 'pattern: "*.csv"' "settle: 3s"
    sftp_inbox held s1 "$R/held" "$R/held-out" 'pattern: "*.csv"' "done_file: true"
} > "$CONFIG"
mkdir -p "$R/held" "$R/held-out"
conv_file "$R/held/waits.csv" "H-1 5.00"
daemon_start 2
wait_for 30 at_least 2 sshd_logins s1

# Four pieces 1.5 s apart, each of complete rows: a file taken early would be a batch of
# fewer rows (or a second batch of the same name).
F="$R/in/growing.csv"
rows=0
listed=$(sftp_listings s1 "$R/in")
for piece in 1 2 3 4; do
    {
        [ $piece = 1 ] && conv_header
        for i in 1 2 3; do conv_row "G-$piece-$i" "$piece.0$i"; done
    } >> "$F"
    rows=$((rows + 3))
    [ ! -e "$R/out/growing.csv_summary.json" ] && [ ! -e "$R/out/receipt_growing.csv.txt" ] \
        || { show_logs; fail "growing.csv was taken after piece $((piece - 1)), while still being written"; }
    [ -z "$(find "$STATE/pull" -type f -name '*growing*' 2> /dev/null)" ] \
        || { show_logs; fail "growing.csv was downloaded after piece $((piece - 1)): $(find "$STATE/pull" -type f)"; }
    [ $piece = 4 ] || sleep 1.5
done
written=$SECONDS
polls=$(( $(sftp_listings s1 "$R/in") - listed ))
[ "$polls" -ge 3 ] || { show_logs; fail "the folder was listed only $polls times while the file grew (poll_interval 1s)"; }
wait_for 60 test -f "$R/out/growing.csv_summary.json"
echo "growing.csv answered $((SECONDS - written)) s after its last piece (settle 3s, poll 1s)"
S="$R/out/growing.csv_summary.json"
[ "$(json_field "$S" status)" = COMPLETE ] || fail "growing.csv: $(cat "$S")"
[ "$(json_field "$S" total)" = $rows ] && [ "$(json_field "$S" applied)" = $rows ] \
    || fail "growing.csv: total $(json_field "$S" total), applied $(json_field "$S" applied); expected $rows (taken early?)"
[ "$(json_field "$S" sha256)" = "$(sha256sum < "$F" | cut -d' ' -f1)" ] || fail "the applied content is not the whole file"
[ "$(sftp_opens s1 "$F")" = 1 ] || fail "growing.csv was opened $(sftp_opens s1 "$F") times"
[ "$(batches_of slow)" = 1 ] || fail "$(batches_of slow) batches, expected 1: $(cat "$WORK/batches.json")"
expect_exit 0 ad action show --account 1000 G-4-3
no_temporaries "$R/out"

# done_file: waits.csv has been stable for far longer than settle; it is taken only once
# waits.csv.done appears.
[ ! -e "$R/held-out/waits.csv_summary.json" ] && [ "$(sftp_opens s1 "$R/held/waits.csv")" = 0 ] \
    || { show_logs; fail "waits.csv was taken before waits.csv.done existed"; }
[ "$(sftp_listings s1 "$R/held")" -ge 5 ] || fail "the held folder was not polled"
: > "$R/held/waits.csv.done"
wait_answered 30 "$R/held-out" waits.csv
[ ! -e "$R/held-out/waits.csv.done_summary.json" ] || fail "the done file was taken as a file"
daemon_stop
echo "sftp settle: ok"
