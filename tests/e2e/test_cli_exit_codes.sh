#!/usr/bin/env bash
# The CLI's exit codes (README.md, "The CLI"): every mistake a user can make in a command is a
# usage error (64) with its own message, never an internal error (70); a store this program
# cannot use is a store failure (74), a bad config 78. No honest command makes an internal
# error, so its mapping to 70 is tested on its own in tests/unit/test_cli_failure.cpp.
source "$(dirname "$0")/lib.sh"
setup_ledger
mkdir -p "$WORK/in"
printf 'ActionId,Amount,Reason\r\nX-1,5.00,ORDER_UPDATE\r\n' > "$WORK/in/mods.csv"
printf 'TransferType,PartnerId,Amount,CurrencyCode,PaymentDate\r\nBONUS,P-77,1.00,USD,%s\r\n' \
    "$(days_ago 1)" > "$WORK/in/funds.csv"

# expect_usage MESSAGE command...: exit 64 and "actiondrop: MESSAGE" on stderr.
expect_usage() {
    local message=$1; shift
    expect_exit 64 "$@"
    grep -qF "actiondrop: $message" "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "no '$message': $*"; }
}

expect_usage "unknown account 'nosuch'" ad apply --account nosuch "$WORK/in/mods.csv"
expect_usage "unknown account 'nosuch'" ad apply --account nosuch --dry-run "$WORK/in/mods.csv"
expect_usage "unknown account 'nosuch'" ad validate --account nosuch "$WORK/in/mods.csv"
expect_usage "unknown account 'nosuch'" ad report changes --account nosuch
expect_usage "unknown account 'nosuch'" ad report actions --account nosuch
expect_usage "unknown account 'nosuch'" ad action show --account nosuch X-1
expect_usage "unknown account 'nosuch'" ad action history --account nosuch X-1
expect_usage "unknown account 'nosuch'" ad batches list --account nosuch
# A known account without that action: nothing found, exit 1, as for a batch or an invoice.
expect_exit 1 ad action show --account 1000 no-such-action
grep -qF "no action 'no-such-action' in account 1000" "$WORK/last.err" ||
    fail "action show: no message"
expect_exit 1 ad action history --account 1000 no-such-action
expect_exit 0 ad batches list --account 2000
expect_usage "unknown file type 'bogus'" ad apply --account 1000 --type bogus "$WORK/in/mods.csv"
expect_usage "--as-of is only allowed with --dry-run" ad apply --account 1000 --as-of 2030-01-01 "$WORK/in/mods.csv"
expect_usage "--as-of 'soon'" ad apply --account 1000 --dry-run --as-of soon "$WORK/in/mods.csv"
expect_usage "--account (or --inbox) is required" ad apply "$WORK/in/mods.csv"
mkfifo "$WORK/in/fifo.csv"
expect_usage "$WORK/in/fifo.csv: not a regular file" ad apply --account 1000 "$WORK/in/fifo.csv"
expect_usage "$WORK/in/absent.csv: no such file" ad apply --account 1000 "$WORK/in/absent.csv"
expect_exit 64 ad apply --account 1000 --no-such-option "$WORK/in/mods.csv"

# A funds_transfers file however it is asked for: from the command line, through an inbox's
# type, and checked by validate with and without an account. The ledger has no funds, so its
# row is INSUFFICIENT_FUNDS: exit 3, some rows rejected.
expect_exit 3 ad apply --account 1000 --type funds_transfers --outbox "$WORK/out" "$WORK/in/funds.csv"
grep -q ',TRANSFER,REJECTED,Validation,INSUFFICIENT_FUNDS,' "$WORK/out/result_funds.csv" || fail "the transfer's result"
expect_exit 3 ad validate --account 1000 --type funds_transfers "$WORK/in/funds.csv"
expect_exit 0 ad validate --type funds_transfers "$WORK/in/funds.csv"
# A file the user may not read is an I/O failure (74) naming it, never an empty file (65);
# validate without an account reads it itself. Run as nobody, since root reads any file.
shut=$(mktemp -d) && chmod 755 "$shut"
cp "$WORK/in/mods.csv" "$shut/mods.csv" && chmod 000 "$shut/mods.csv"
set +e
runuser -u nobody -- "$ACTIONDROP" --store "sqlite:$shut/ledger.db" --state-dir "$shut/state" \
    validate "$shut/mods.csv" >"$WORK/last.out" 2>"$WORK/last.err"
rc=$?
set -e
[ "$rc" -eq 74 ] ||
    fail "validate of an unreadable file: exit $rc: $(cat "$WORK/last.out" "$WORK/last.err")"
grep -q "$shut/mods.csv" "$WORK/last.err" ||
    fail "the unreadable file is not named: $(cat "$WORK/last.err")"
rm -rf "$shut"
for command in apply validate; do  # and each says so in its help
    ad "$command" --help | grep -- '--type' | grep -q 'funds_transfers' ||
        fail "$command --help does not name funds_transfers"
done
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $WORK/state
inboxes:
  - {name: transfers, account: "1000", type: funds_transfers, kind: local, path: $WORK/inbox,
     outbox: $WORK/outbox}
YAML
mkdir -p "$WORK/outbox"
sed 's/1\.00/2.00/' "$WORK/in/funds.csv" > "$WORK/in/funds2.csv"  # other content: not a duplicate
expect_exit 3 "$ACTIONDROP" --config "$WORK/actiondrop.yaml" apply --inbox transfers "$WORK/in/funds2.csv"
expect_usage "no inbox named 'nosuch' in the config" "$ACTIONDROP" --config "$WORK/actiondrop.yaml" apply --inbox nosuch "$WORK/in/mods.csv"

# An inbox's outbox replaced by a symbolic link (by an uploader who can rename it): neither
# apply --inbox nor batches redeliver writes through it (docs/ingest.md, "The outbox").
batch=$(json_field "$WORK/outbox/funds2.csv_summary.json" batch_id)
mkdir -p "$WORK/elsewhere"
mv "$WORK/outbox" "$WORK/outbox.real"
ln -s "$WORK/elsewhere" "$WORK/outbox"
sed 's/1\.00/3.00/' "$WORK/in/funds.csv" > "$WORK/in/funds3.csv"
expect_exit 74 "$ACTIONDROP" --config "$WORK/actiondrop.yaml" apply --inbox transfers "$WORK/in/funds3.csv"
grep -qF "the outbox $WORK/outbox is a symbolic link" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "apply --inbox: no word of the link"; }
expect_exit 74 "$ACTIONDROP" --config "$WORK/actiondrop.yaml" batches redeliver "$batch"
grep -qF "the outbox $WORK/outbox is a symbolic link" "$WORK/last.err" ||
    { cat "$WORK/last.err"; fail "redeliver: no word of the link"; }
[ -z "$(ls -A "$WORK/elsewhere")" ] || fail "answers written through the link: $(ls "$WORK/elsewhere")"
rm "$WORK/outbox"
mv "$WORK/outbox.real" "$WORK/outbox"
rm "$WORK/outbox/result_funds2.csv"
expect_exit 0 "$ACTIONDROP" --config "$WORK/actiondrop.yaml" batches redeliver "$batch"
grep -qF "wrote $WORK/outbox/result_funds2.csv" "$WORK/last.out" ||
    { cat "$WORK/last.out"; fail "redeliver does not name the outbox"; }
[ -f "$WORK/outbox/result_funds2.csv" ] || fail "redeliver did not write the result"

# Not the user's mistake: a store whose schema is newer than this program is a store failure.
cp "$WORK/ledger.db" "$WORK/newer.db"
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("UPDATE schema_version SET version = 9999"); c.commit()' "$WORK/newer.db"
expect_exit 74 "$ACTIONDROP" --store "sqlite:$WORK/newer.db" --state-dir "$WORK/state" apply --account 1000 "$WORK/in/mods.csv"
grep -q "^actiondrop: store failure: .*newer than this program" "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "a newer schema is not a store failure"; }
printf 'store: [\n' > "$WORK/broken.yaml"
expect_exit 78 "$ACTIONDROP" --config "$WORK/broken.yaml" batches list

# A ledger that is not there is a store failure for every command but init and catalog load,
# and none of them makes it: an empty one would answer "unknown account", and the next
# command would find it there (README.md, "The CLI").
missing="sqlite:$WORK/nowhere/ledger.db"
mkdir -p "$WORK/nowhere"
for command in "funds balance --account 1000" "funds deposit --account 1000 5.00" \
               "batches list --account 1000" "batches show B-1" "batches redeliver B-1" \
               "report actions --account 1000" "report invoices --account 1000" \
               "action show --account 1000 X-1" "lifecycle run" \
               "apply --account 1000 $WORK/in/mods.csv" "validate --account 1000 $WORK/in/mods.csv"; do
    # shellcheck disable=SC2086 # one word per argument
    expect_exit 74 "$ACTIONDROP" --store "$missing" --state-dir "$WORK/state" $command
    grep -qF "actiondrop: store failure: the ledger $WORK/nowhere/ledger.db does not exist" \
        "$WORK/last.err" || { cat "$WORK/last.err" >&2; fail "$command: no message of a missing ledger"; }
    [ ! -e "$WORK/nowhere/ledger.db" ] || fail "$command made the ledger"
done
expect_exit 0 "$ACTIONDROP" --store "$missing" --state-dir "$WORK/state" validate "$WORK/in/mods.csv"
expect_exit 0 "$ACTIONDROP" --store "$missing" --state-dir "$WORK/state" init
[ -s "$WORK/nowhere/ledger.db" ] || fail "init did not make the ledger"
