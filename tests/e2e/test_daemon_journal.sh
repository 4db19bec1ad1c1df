#!/usr/bin/env bash
# Under systemd, actiondropd writes each log line to the journal as one entry: PRIORITY
# from the level, SYSLOG_IDENTIFIER=actiondropd, and the fields INBOX, ACCOUNT, BATCH and
# FILE of the line. With stderr anywhere else it writes timestamped text lines, even when
# $JOURNAL_STREAM is set, since only a matching device:inode means stderr is the journal.
#
# The machine running the tests need not run systemd (a container has no PID 1 systemd and
# no /run/systemd/journal/socket, the only address sd_journal_sendv writes to). So the test
# runs a real systemd-journald of its own: in a private mount namespace (unshare -m), tmpfs
# over /run/systemd, /run/log and /var/log/journal hides the host's journal, and the daemon
# runs under systemd-cat, whose stdout and stderr are a journal stream, with
# $JOURNAL_STREAM set to that stream's device:inode as systemd sets it for a unit.
set -euo pipefail
JOURNALD=/lib/systemd/systemd-journald
if [ -z "${ACTIONDROP_JOURNAL_NS:-}" ]; then
    if [ "$(id -u)" != 0 ] || [ ! -x "$JOURNALD" ] || ! command -v systemd-cat > /dev/null ||
        ! command -v journalctl > /dev/null || ! unshare -m true 2> /dev/null; then
        echo "SKIP: needs root, unshare -m, systemd-journald, systemd-cat and journalctl"
        exit 0
    fi
    ACTIONDROP_JOURNAL_NS=1 exec unshare -m bash "$0" "$@"
fi

source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
mount --make-rprivate /
for dir in /run/systemd /run/log /var/log/journal; do
    if [ -d "$dir" ]; then mount -t tmpfs tmpfs "$dir"; fi
done
"$JOURNALD" > "$WORK/journald.log" 2>&1 &
JD=$!
PID=
trap 'kill -9 $PID $JD 2>/dev/null || true; rm -rf "$WORK"' EXIT
deadline=$((SECONDS + 10))
until [ -S /run/systemd/journal/socket ]; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/journald.log"; fail "journald did not start"; }
    sleep 0.1
done

setup_ledger
IN="$WORK/in"; OUT="$WORK/out"; mkdir -p "$IN" "$OUT"
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $WORK/state
sweep_interval: 200ms
inboxes:
  - {name: conv, account: "1000", type: conversions, kind: local, path: $IN, outbox: $OUT, settle: 200ms}
YAML
# entries: the daemon's journal entries as JSON lines.
entries() { journalctl -D /run/log/journal -o json --no-pager SYSLOG_IDENTIFIER=actiondropd; }

# Under the journal: systemd-cat's stream socket is stderr, and JOURNAL_STREAM names it.
systemd-cat -t actiondropd sh -c \
    'JOURNAL_STREAM=$(stat -L -c %d:%i /dev/stderr) exec "$0" "$@"' \
    "$ACTIONDROPD" --config "$WORK/actiondrop.yaml" &
PID=$!
D=$(days_ago 1)
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nM-1,19816,P-77,O-1,%s,10.00\r\n' "$D" > "$WORK/f.csv"
mv "$WORK/f.csv" "$IN/my report.csv"
mkfifo "$IN/pipe.csv"
deadline=$((SECONDS + 20))
until [ -f "$OUT/my report.csv_summary.json" ]; do
    [ $SECONDS -lt $deadline ] || { entries; fail "my report.csv not answered"; }
    sleep 0.1
done
BATCH=$(json_field "$OUT/my report.csv_summary.json" batch_id)
kill -TERM $PID; wait $PID || fail "actiondropd under systemd-cat did not exit 0"
PID=

deadline=$((SECONDS + 10))
# grep reads to the end (no -q): an early exit would fail `entries` with SIGPIPE under pipefail.
until entries | grep '"MESSAGE":"stopping: ' > /dev/null; do
    [ $SECONDS -lt $deadline ] || { entries; fail "no stopping line in the journal"; }
    sleep 0.1
done
entries > "$WORK/entries.json"
python3 - "$WORK/entries.json" "$BATCH" <<'PY' || fail "journal entries"
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
batch = sys.argv[2]
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("journal:", what, file=sys.stderr)
        ok = False
# Each line was sent natively, not written as text on the stream systemd-cat holds.
check(entries and all(e.get("_TRANSPORT") == "journal" for e in entries),
      "every entry through the native protocol: %s" % sorted({e.get("_TRANSPORT") for e in entries}))
check(not any("CODE_FILE" in e for e in entries), "a CODE_FILE that would name the sink, not the line")
answered = [e for e in entries if "status=COMPLETE" in e.get("MESSAGE", "")]
check(len(answered) == 1, "one answered line, got %d" % len(answered))
if answered:
    e = answered[0]
    want = {"INBOX": "conv", "ACCOUNT": "1000", "BATCH": batch, "FILE": "my report.csv",
            "PRIORITY": "6", "SYSLOG_IDENTIFIER": "actiondropd"}
    for k, v in want.items():
        check(e.get(k) == v, "answered line %s=%r, want %r" % (k, e.get(k), v))
    check(e["MESSAGE"].startswith("inbox=conv account=1000 batch=" + batch + ' file="my report.csv" status=COMPLETE'),
          "the message is the line itself, without time or level: %r" % e["MESSAGE"])
skipped = [e for e in entries if "skipped" in e.get("MESSAGE", "")]
check(len(skipped) == 1 and skipped[0].get("PRIORITY") == "4" and skipped[0].get("FILE") == "pipe.csv"
      and skipped[0].get("INBOX") == "conv" and "ACCOUNT" not in skipped[0],
      "one skipped FIFO at warning with FILE=pipe.csv and no ACCOUNT: %r" % skipped)
plain = [e for e in entries if e.get("MESSAGE", "").startswith("serving 1 inboxes")]
check(len(plain) == 1 and not any(k in plain[0] for k in ("INBOX", "ACCOUNT", "BATCH", "FILE")),
      "a line without tokens has no fields: %r" % plain)
sys.exit(0 if ok else 1)
PY

# Not the journal: stderr is a file, and a JOURNAL_STREAM inherited from elsewhere is ignored.
before=$(entries | wc -l)
JOURNAL_STREAM=$(stat -L -c %d:%i /dev/null) "$ACTIONDROPD" --config "$WORK/actiondrop.yaml" \
    2> "$WORK/daemon.log" &
PID=$!
deadline=$((SECONDS + 20))
until grep -q 'serving 1 inboxes' "$WORK/daemon.log"; do
    [ $SECONDS -lt $deadline ] || { cat "$WORK/daemon.log"; fail "daemon with stderr to a file did not start"; }
    sleep 0.1
done
kill -TERM $PID; wait $PID || fail "actiondropd with stderr to a file did not exit 0"
PID=
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+ info: serving 1 inboxes' "$WORK/daemon.log" ||
    { cat "$WORK/daemon.log"; fail "stderr lines without time and level"; }
sleep 0.3
[ "$(entries | wc -l)" = "$before" ] || fail "a daemon whose stderr is a file wrote to the journal"
