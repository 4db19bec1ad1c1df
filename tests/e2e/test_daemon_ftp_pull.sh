#!/usr/bin/env bash
# actiondropd pulls from private vsftpd servers on 127.0.0.1 (README.md, "FTP pull inboxes"),
# one plain (tls: none) and one with explicit TLS (the certificate made here, trusted as
# ca_file): a file left on the server is applied once and answered in the result folder
# (receipt, result, errors, summary, under hidden names first); two restarts do not pull it
# again (the server's log shows the folder listed, the file never retrieved again). With
# delete_after_pull the original is deleted once applied, with archive_folder moved there; a
# done_file inbox waits for NAME.done; a file still growing is not taken before it settles.
# The password never shows in the daemon's log, and tls: none is warned about at start.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/sshd_lib.sh"
source "$(dirname "$0")/vsftpd_lib.sh"
setup_ledger
ftpd_up plain
ftpd_up secure tls

mkdir -p "$R"/{in,out,tin,tout,del,del-out,arc,arc-out,arc-done,done,done-out,grow,grow-out}
chown -R "$FTP_USER" "$R"
chmod -R 0755 "$R"

inbox() { ftp_inbox "$@" 'pattern: "*.csv"'; }
{
    config_head "sweep_interval: 200ms"
    inbox pull plain "$R/in" "$R/out"
    inbox tpull secure "$R/tin" "$R/tout"
    inbox pulldel secure "$R/del" "$R/del-out" "delete_after_pull: true"
    inbox pullarc plain "$R/arc" "$R/arc-out" "archive_folder: $R/arc-done"
    inbox pulldone secure "$R/done" "$R/done-out" "done_file: true"
    inbox pullgrow plain "$R/grow" "$R/grow-out" "settle: 2s"
} > "$CONFIG"
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config
daemon_start 6
grep -q "inbox=pull ftp 127.0.0.1:${FTPD_PORT[plain]}: tls: none" "$DLOG" || { show_logs; fail "no warning about tls: none"; }
if grep -q "inbox=tpull.*tls: none" "$DLOG"; then fail "a TLS inbox was warned about as plain"; fi
metric_is 'actiondrop_pull_unencrypted{inbox="pull"}' 1 || { show_logs; fail "/metrics does not show the inbox without TLS"; }
[ -z "$(metric 'actiondrop_pull_unencrypted{inbox="tpull"}')" ] || fail "/metrics shows a TLS inbox as unencrypted"

conv_file "$R/in/conv 1 é.csv" "F-1 100.00" "F-2 50.00" "F-3 20.00 99999"
conv_file "$R/tin/tconv.csv" "T-1 10.00" "T-2 11.00"
conv_file "$R/del/del1.csv" "DEL-1 13.00"
conv_file "$R/arc/arc1.csv" "ARC-1 14.00"
conv_file "$R/done/d1.csv" "DONE-1 15.00"
chown -R "$FTP_USER" "$R"
mkdir -p "$WORK/orig"
cp -p "$R/in/conv 1 é.csv" "$R/tin/tconv.csv" "$WORK/orig/"
stamp() { stat -c '%s %Y %a %U' "$1"; }
conv1_stamp=$(stamp "$R/in/conv 1 é.csv")

# A file still being written: a row every 0.4 s for 4 s; settle is 2 s.
(
    conv_header > "$R/grow/g1.csv"
    for i in $(seq 1 10); do conv_row "GROW-$i" >> "$R/grow/g1.csv"; sleep 0.4; done
) &
writer=$!

wait_answered 60 "$R/out" "conv 1 é.csv" 2
wait_answered 60 "$R/tout" tconv.csv 2
wait_answered 60 "$R/del-out" del1.csv
wait_answered 60 "$R/arc-out" arc1.csv
# FTP inboxes count their logins under the SFTP inboxes' metric (README.md, "FTP pull inboxes").
for i in pull tpull; do
    [ "$(metric "actiondrop_sftp_connects_total{inbox=\"$i\"}")" -ge 1 ] 2> /dev/null \
        || fail "/metrics counts no connection of FTP inbox $i"
done

# 1. The default: answered, archived locally, the original untouched.
S="$R/out/conv 1 é.csv_summary.json"
[ "$(json_field "$S" status)" = COMPLETE ] && [ "$(json_field "$S" rejected)" = 1 ] || fail "conv 1 é.csv: $(cat "$S")"
[ "$(json_field "$S" sha256)" = "$(sha256sum < "$WORK/orig/conv 1 é.csv" | cut -d' ' -f1)" ] || fail "the sha256 is not the original's"
check_csv "$R/out/result_conv 1 é.csv" /dev/stdin <<'CSV' || fail "result_conv 1 é.csv"
Line,ActionId,Outcome,ErrorCode
2,F-1,APPLIED,
3,F-2,APPLIED,
4,F-3,REJECTED,ACTIONTRACKER_NOT_FOUND
CSV
batch=$(json_field "$S" batch_id)
wait_for 10 archived pull "${batch}_conv 1 é.csv" > /dev/null
cmp -s "$R/in/conv 1 é.csv" "$WORK/orig/conv 1 é.csv" && [ "$(stamp "$R/in/conv 1 é.csv")" = "$conv1_stamp" ] \
    || fail "the original on the server was changed"
expect_exit 0 ad action show --account 1000 F-2
expect_exit 0 ad action show --account 1000 T-2
for d in out tout; do
    wait_for 20 test "$(ls -A "$R/$d" | wc -l)" = 4
    no_temporaries "$R/$d"
done
# Answers are stored under a hidden name and renamed into place, the summary last.
PLOG="$(ftpd_dir plain)/vsftpd.log"
if grep -E "\"STOR $R/out/[^.]" "$PLOG"; then fail "an answer was written under its final name"; fi
last=$(grep -E "\"RNTO $R/out/" "$PLOG" | tail -1)
# (vsftpd logs a byte outside ASCII as '?')
[[ "$last" == *"/out/conv 1 "*".csv_summary.json\""* ]] || { grep -E 'RNFR|RNTO' "$PLOG" >&2; fail "the summary was not renamed into place last: $last"; }
# The TLS server saw TLS before the login, and every data connection protected.
SLOG="$(ftpd_dir secure)/vsftpd.log"
grep -q '"AUTH TLS"' "$SLOG" || fail "no AUTH TLS on the TLS server"
grep -q '"PROT P"' "$SLOG" || fail "data connections were not protected (no PROT P)"

# 2. delete_after_pull and archive_folder.
gone() { [ ! -e "$R/del/del1.csv" ] && [ -z "$(find "$R/del" -mindepth 1 -type f)" ]; }
wait_for 20 gone
moved() { [ ! -e "$R/arc/arc1.csv" ] && [ -f "$R/arc-done/arc1.csv" ]; }
wait_for 20 moved
[ -z "$(find "$R/arc" -mindepth 1)" ] || fail "left in the pull folder: $(find "$R/arc" -mindepth 1)"

# 3. done_file: nothing until d1.csv.done exists (settle is long past), then taken and the
# marker removed.
sleep 3
[ ! -e "$R/done-out/d1.csv_summary.json" ] || fail "d1.csv was taken without its .done"
: > "$R/done/d1.csv.done"
wait_answered 30 "$R/done-out" d1.csv
wait_for 20 test ! -e "$R/done/d1.csv.done"

# 4. The growing file is taken whole, once.
wait "$writer"
wait_answered 60 "$R/grow-out" g1.csv 10
[ "$(batches_of pullgrow)" = 1 ] || fail "g1.csv was taken more than once: $(batches_of pullgrow) batches"

# 5. Two restarts: the folders listed again, no file retrieved again, one batch each.
# (vsftpd logs each byte outside ASCII as "?")
retrs_before="$(ftp_retrs plain "$R/in/conv 1 ??.csv") $(ftp_retrs secure "$R/tin/tconv.csv")"
[ "$retrs_before" = "1 1" ] || fail "each file should have been retrieved once: $retrs_before"
for run in 1 2; do
    daemon_stop
    listed=$(ftp_listings plain "$R/in"); tlisted=$(ftp_listings secure "$R/tin")
    daemon_start 6
    polled() { [ "$(ftp_listings plain "$R/in")" -ge $((listed + 4)) ] && [ "$(ftp_listings secure "$R/tin")" -ge $((tlisted + 4)) ]; }
    wait_for 60 polled
done
retrs_after="$(ftp_retrs plain "$R/in/conv 1 ??.csv") $(ftp_retrs secure "$R/tin/tconv.csv")"
[ "$retrs_after" = "$retrs_before" ] || { show_logs; fail "a file was retrieved again after a restart: $retrs_before -> $retrs_after"; }
for i in pull:1 tpull:1 pulldel:1 pullarc:1 pulldone:1 pullgrow:1; do
    [ "$(batches_of "${i%:*}")" = "${i#*:}" ] || fail "inbox ${i%:*}: $(batches_of "${i%:*}") batches, expected ${i#*:}"
done
if grep -qi "DUPLICATE_FILE" "$WORK"/daemon.*.log; then show_logs; fail "a file was taken again (DUPLICATE_FILE)"; fi

# 6. The password is in no log line of ours (vsftpd's own log hides it too).
if grep -qF "$FTP_PASSWORD" "$WORK"/daemon.*.log; then fail "the password shows in the daemon's log"; fi
for d in out tout del-out arc-out done-out grow-out; do no_temporaries "$R/$d"; done
daemon_stop
echo "ftp pull: ok"
