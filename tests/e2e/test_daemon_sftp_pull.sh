#!/usr/bin/env bash
# actiondropd pulls from a private sshd on 127.0.0.1 (README.md, "SFTP pull inboxes"): a file
# left on the server is applied once, answered in the result folder (receipt, result, errors,
# summary; no temporary name left behind), its local copy archived, and the original left
# untouched; two restarts of the daemon do not pull it again (the server's own log shows the
# folder listed but the file never opened again). The same for an account that may only read
# its folder. With delete_after_pull the original is deleted once applied (nothing left in the
# remote .processing/); with archive_folder it is moved there, under a unique name when the
# name is taken.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
setup_ledger
sshd_up s1
RO="adro$SUFFIX"
add_account "$RO"

mkdir -p "$R"/{in,out,ro,ro-out,del,del-out,arc,arc-out,arc-done}
chmod -R 0755 "$R"
chown "$RO" "$R/ro-out"  # the read-only account may write only its result folder

# inbox NAME FOLDER RESULT_FOLDER ["KEY: VALUE"]...: a pull inbox of *.csv files on s1.
inbox() { sftp_inbox "$1" s1 "$2" "$3" 'pattern: "*.csv"' "${@:4}"; }
{
    config_head "sweep_interval: 200ms"
    inbox pull "$R/in" "$R/out"
    inbox pullro "$R/ro" "$R/ro-out" "user: $RO" "delete_after_pull: false"
    inbox pulldel "$R/del" "$R/del-out" "delete_after_pull: true"
    inbox pullarc "$R/arc" "$R/arc-out" "archive_folder: $R/arc-done"
} > "$CONFIG"
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config
daemon_start 4

# The files, as the advertiser's export leaves them. Contents differ (one account).
conv_file "$R/in/conv1.csv" "P-1 100.00" "P-2 50.00" "P-3 20.00 99999"
conv_file "$R/ro/ro1.csv" "RO-1 10.00" "RO-2 11.00"
conv_file "$R/ro/ro2.csv" "RO-3 12.00"
chmod 0444 "$R"/ro/*.csv
chmod 0555 "$R/ro"
conv_file "$R/del/del1.csv" "DEL-1 13.00"
conv_file "$R/arc/arc1.csv" "ARC-1 14.00"
conv_file "$R/arc/arc2.csv" "ARC-2 15.00"
printf 'an earlier export kept by the advertiser\n' > "$R/arc-done/arc2.csv"
mkdir -p "$WORK/orig"
cp -p "$R/in/conv1.csv" "$R"/ro/*.csv "$R/del/del1.csv" "$R"/arc/*.csv "$WORK/orig/"
stamp() { stat -c '%s %Y %a %U' "$1"; }
conv1_stamp=$(stamp "$R/in/conv1.csv")
ro1_stamp=$(stamp "$R/ro/ro1.csv")

for f in out/conv1.csv ro-out/ro1.csv ro-out/ro2.csv del-out/del1.csv arc-out/arc1.csv arc-out/arc2.csv; do
    wait_for 60 test -f "$R/$(dirname "$f")/$(basename "$f")_summary.json"
done

# 1. The default: answered, archived locally, the original untouched.
S="$R/out/conv1.csv_summary.json"
[ "$(json_field "$S" status)" = COMPLETE ] || fail "conv1.csv: $(cat "$S")"
[ "$(json_field "$S" total)" = 3 ] && [ "$(json_field "$S" applied)" = 2 ] && [ "$(json_field "$S" rejected)" = 1 ] \
    || fail "conv1.csv: wrong counts: $(cat "$S")"
[ "$(json_field "$S" sha256)" = "$(sha256sum < "$WORK/orig/conv1.csv" | cut -d' ' -f1)" ] || fail "conv1.csv: sha256 is not the original's"
check_csv "$R/out/result_conv1.csv" /dev/stdin <<'CSV' || fail "result_conv1.csv"
Line,ActionId,Outcome,ErrorCode
2,P-1,APPLIED,
3,P-2,APPLIED,
4,P-3,REJECTED,ACTIONTRACKER_NOT_FOUND
CSV
check_csv "$R/out/errors_conv1.csv" /dev/stdin <<'CSV' || fail "errors_conv1.csv"
ActionId,ActionTrackerId,ErrorCode
P-3,99999,ACTIONTRACKER_NOT_FOUND
CSV
batch=$(json_field "$S" batch_id)
grep -q "$batch" "$R/out/receipt_conv1.csv.txt" || fail "the receipt does not name batch $batch: $(cat "$R/out/receipt_conv1.csv.txt")"
wait_for 10 archived pull "${batch}_conv1.csv" > /dev/null
archived=$(archived pull "${batch}_conv1.csv")
cmp -s "$archived" "$WORK/orig/conv1.csv" || fail "the archived copy differs from the original"
cmp -s "$R/in/conv1.csv" "$WORK/orig/conv1.csv" && [ "$(stamp "$R/in/conv1.csv")" = "$conv1_stamp" ] \
    || fail "the original on the server was changed: $(stamp "$R/in/conv1.csv"), was $conv1_stamp"
[ "$(ls -A "$R/in")" = conv1.csv ] || fail "the pull folder was written to: $(ls -A "$R/in")"
expect_exit 0 ad action show --account 1000 P-2
# Uploads: written under hidden names only, each renamed into place, the summary last.
SLOG="$(sshd_dir s1)/sftp.log"
if grep -E "^open \"$R/out/[^.][^\"]*\" flags [A-Z,]*WRITE" "$SLOG"; then fail "an answer was written under its final name"; fi
last=$(grep -E "^(posix-)?rename old \"$R/out/\.[^\"]*conv1\.csv" "$SLOG" | tail -1)
[[ "$last" == *'/out/conv1.csv_summary.json"'* ]] || { grep rename "$SLOG" >&2; fail "the summary was not the last answer renamed into place: $last"; }
[ "$(grep -cE "^(posix-)?rename old \"$R/out/\.[^\"]*conv1\.csv" "$SLOG")" = 4 ] || fail "expected 4 answers of conv1.csv renamed into place"
grep -q "inbox=pull account=1000 batch=$batch file=conv1.csv status=COMPLETE total=3 applied=2 rejected=1" "$DLOG" \
    || { show_logs; fail "no log line for conv1.csv"; }

# 2. The read-only folder: answered, the originals untouched.
for n in 1 2; do
    [ "$(json_field "$R/ro-out/ro$n.csv_summary.json" status)" = COMPLETE ] || fail "ro$n.csv: $(cat "$R/ro-out/ro$n.csv_summary.json")"
    cmp -s "$R/ro/ro$n.csv" "$WORK/orig/ro$n.csv" || fail "ro$n.csv was changed on the server"
    [ -f "$R/ro-out/result_ro$n.csv" ] && [ -f "$R/ro-out/receipt_ro$n.csv.txt" ] || fail "ro$n.csv: results missing: $(ls -A "$R/ro-out")"
done
# An errors file, if any, lists no row.
[ ! -e "$R/ro-out/errors_ro1.csv" ] || [ "$(wc -l < "$R/ro-out/errors_ro1.csv")" = 1 ] || fail "errors_ro1.csv lists rows"
[ "$(json_field "$R/ro-out/ro1.csv_summary.json" applied)" = 2 ] || fail "ro1.csv: not 2 applied"
[ "$(stamp "$R/ro/ro1.csv")" = "$ro1_stamp" ] || fail "ro1.csv changed: $(stamp "$R/ro/ro1.csv")"
[ "$(ls -A "$R/ro" | tr '\n' ' ')" = "ro1.csv ro2.csv " ] || fail "the read-only folder changed: $(ls -A "$R/ro")"

# 3. delete_after_pull: the original deleted once applied, nothing left in .processing/.
gone_from_server() { [ ! -e "$R/del/del1.csv" ] && [ -z "$(find "$R/del" -mindepth 1 -type f)" ]; }
wait_for 20 gone_from_server
[ "$(json_field "$R/del-out/del1.csv_summary.json" applied)" = 1 ] || fail "del1.csv: not applied"
del_batch=$(json_field "$R/del-out/del1.csv_summary.json" batch_id)
cmp -s "$(archived pulldel "${del_batch}_del1.csv")" "$WORK/orig/del1.csv" \
    || fail "del1.csv: the local archived copy is missing or differs"

# 4. archive_folder: moved there once applied; under a unique name when the name is taken.
moved() {
    [ ! -e "$R/arc/arc1.csv" ] && [ ! -e "$R/arc/arc2.csv" ] && [ -f "$R/arc-done/arc1.csv" ] &&
        [ "$(find "$R/arc-done" -name '*_arc2.csv' | wc -l)" = 1 ]
}
wait_for 20 moved
cmp -s "$R/arc-done/arc1.csv" "$WORK/orig/arc1.csv" || fail "arc1.csv differs once archived"
cmp -s "$(find "$R/arc-done" -name '*_arc2.csv')" "$WORK/orig/arc2.csv" || fail "arc2.csv differs once archived"
[ "$(cat "$R/arc-done/arc2.csv")" = "an earlier export kept by the advertiser" ] || fail "an archived file was overwritten"
[ -z "$(find "$R/arc" -mindepth 1)" ] || fail "left in the pull folder: $(find "$R/arc" -mindepth 1)"

# Every result folder: no temporary name left; every staged answer uploaded.
for d in out ro-out del-out arc-out arc-done; do no_temporaries "$R/$d"; done
spools_empty() { [ -z "$(find "$STATE/pull" -type f 2> /dev/null)" ]; }
wait_for 20 spools_empty
for f in receipt_conv1.csv.txt result_conv1.csv errors_conv1.csv conv1.csv_summary.json; do
    [ -f "$R/out/$f" ] || fail "no $f in the result folder: $(ls -A "$R/out")"
done
[ "$(ls -A "$R/out" | wc -l)" = 4 ] || fail "the result folder holds more than the answers: $(ls -A "$R/out")"

# 5. Two restarts: every folder listed again, no file opened again, one batch each.
opens_before=""
for f in "$R/in/conv1.csv" "$R/ro/ro1.csv" "$R/ro/ro2.csv"; do opens_before+="$(sftp_opens s1 "$f") "; done
for run in 1 2; do
    daemon_stop
    listed_in=$(sftp_listings s1 "$R/in"); listed_ro=$(sftp_listings s1 "$R/ro")
    daemon_start 4
    # Settle is 1 s and polls are 1 s apart: four listings are well past a decision.
    polled() { [ "$(sftp_listings s1 "$R/in")" -ge $((listed_in + 4)) ] && [ "$(sftp_listings s1 "$R/ro")" -ge $((listed_ro + 4)) ]; }
    wait_for 60 polled
done
opens_after=""
for f in "$R/in/conv1.csv" "$R/ro/ro1.csv" "$R/ro/ro2.csv"; do opens_after+="$(sftp_opens s1 "$f") "; done
[ "$opens_after" = "$opens_before" ] || { show_logs; fail "a file was opened again after a restart: opens $opens_before-> $opens_after"; }
[ "$opens_before" = "1 1 1 " ] || fail "each file should have been opened once: $opens_before"
for i in pull:1 pullro:2 pulldel:1 pullarc:2; do
    [ "$(batches_of "${i%:*}")" = "${i#*:}" ] || fail "inbox ${i%:*}: $(batches_of "${i%:*}") batches, expected ${i#*:}"
done
[ "$(json_field "$R/out/conv1.csv_summary.json" batch_id)" = "$batch" ] || fail "conv1.csv answered again"
cmp -s "$R/in/conv1.csv" "$WORK/orig/conv1.csv" && [ "$(stamp "$R/in/conv1.csv")" = "$conv1_stamp" ] || fail "conv1.csv changed"
if grep -qi "DUPLICATE_FILE" "$WORK"/daemon.*.log; then show_logs; fail "a file was taken again (DUPLICATE_FILE)"; fi

# 6. The same content under another name is a duplicate, as for a local inbox; a new
# version under the old name (another size and mtime) is a new file, whose answers replace
# the old ones.
cp "$WORK/orig/conv1.csv" "$WORK/again.csv"
put_remote "$R/in/again.csv" < "$WORK/again.csv"
wait_for 30 test -f "$R/out/again.csv_summary.json"
[ "$(json_field "$R/out/again.csv_summary.json" error_code)" = DUPLICATE_FILE ] || fail "again.csv: $(cat "$R/out/again.csv_summary.json")"
grep -q "$batch" "$R/out/again.csv_summary.json" || fail "the duplicate does not name batch $batch"
conv_file "$R/in/conv1.csv" "P-4 40.00"
touch -d '-1 hour' "$R/in/conv1.csv"
new_batch() { [ "$(json_field "$R/out/conv1.csv_summary.json" batch_id)" != "$batch" ]; }
wait_for 30 new_batch
[ "$(json_field "$R/out/conv1.csv_summary.json" total)" = 1 ] || fail "the new conv1.csv: $(cat "$R/out/conv1.csv_summary.json")"
check_csv "$R/out/result_conv1.csv" /dev/stdin <<'CSV' || fail "result_conv1.csv was not replaced"
Line,ActionId,Outcome
2,P-4,APPLIED
CSV
[ "$(batches_of pull)" = 3 ] || fail "inbox pull: $(batches_of pull) batches, expected 3"
for d in out ro-out del-out arc-out; do no_temporaries "$R/$d"; done
daemon_stop
echo "sftp pull: ok"
