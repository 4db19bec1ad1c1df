#!/usr/bin/env bash
# actiondropd --check-config refuses what the running daemon would refuse, and the daemon
# refuses it at start the same way (exit 78, file, line and key): a metrics address that is
# not loopback (the endpoint has no authentication), an outbox that is the inbox folder
# under another name (a symlink, or a path through one), and two accounts' inboxes that share
# a folder under two names. docs/formats.md, "The service config file".
source "$(dirname "$0")/lib.sh"
: "${ACTIONDROPD:?set by CTest}"
IN="$WORK/srv/in"; OUT="$WORK/srv/out"
mkdir -p "$IN" "$OUT"
ln -s "$IN" "$WORK/srv/in-link"
ln -s "$WORK/srv" "$WORK/srv-link"
CONFIG="$WORK/actiondrop.yaml"

# write_config LISTEN OUTBOX
write_config() {
    cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $WORK/state
metrics: {listen: "$1"}
inboxes:
  - {name: drop, account: "1000", kind: local, path: $IN, outbox: $2}
YAML
}

# refused KEY WORDS: --check-config and a start both exit 78 naming the file, line and key.
refused() {
    local key=$1 words=$2
    expect_exit 78 "$ACTIONDROPD" --config "$CONFIG" --check-config
    grep -qF "$CONFIG:" "$WORK/last.err" && grep -qF "$key: $words" "$WORK/last.err" ||
        { cat "$WORK/last.err" >&2; fail "--check-config: no '$CONFIG:LINE:COL: $key: $words'"; }
    expect_exit 78 timeout 20 "$ACTIONDROPD" --config "$CONFIG"
    grep -qF "$key: $words" "$WORK/last.err" ||
        { cat "$WORK/last.err" >&2; fail "the daemon started with '$key' refused by the check"; }
}

write_config "127.0.0.1:9464" "$OUT"
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config

for open in 0.0.0.0:9464 "[::]:9464" 192.0.2.7:9464; do
    write_config "$open" "$OUT"
    refused metrics.listen "not a loopback address: '$open'"
    grep -qF "$CONFIG:3:" "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "not line 3"; }
done

write_config "127.0.0.1:9464" "$WORK/srv/in-link"
refused "inboxes[0].outbox" "the outbox must not be the inbox or a folder inside it"
grep -qF "$CONFIG:5:" "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "not line 5"; }
write_config "127.0.0.1:9464" "$WORK/srv-link/in/results"
refused "inboxes[0].outbox" "the outbox must not be the inbox or a folder inside it"
write_config "127.0.0.1:9464" "$WORK/srv-link/in"
refused "inboxes[0].outbox" "the outbox must not be the inbox or a folder inside it"
# A link to another folder is a fine outbox.
ln -s "$OUT" "$WORK/out-link"
write_config "127.0.0.1:9464" "$WORK/out-link"
expect_exit 0 "$ACTIONDROPD" --config "$CONFIG" --check-config

# A second account's inbox reached through a link into the first one's folder: the first
# uploader would upload for the second account.
mkdir -p "$IN/other"
cat > "$CONFIG" <<YAML
store: $STORE
state_dir: $WORK/state
inboxes:
  - {name: drop, account: "1000", kind: local, path: $IN, outbox: $OUT}
  - {name: other, account: "2000", kind: local, path: $WORK/srv-link/in/other,
     outbox: $WORK/srv/other-out}
YAML
refused "inboxes[1].path" "$WORK/srv-link/in/other is inside inbox 'drop''s folder"
grep -qF "$CONFIG:5:" "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "not line 5"; }
echo "ok"
