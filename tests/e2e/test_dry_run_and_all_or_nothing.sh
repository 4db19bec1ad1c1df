#!/usr/bin/env bash
# --dry-run writes the outbox files and changes nothing; --as-of needs --dry-run;
# an all_or_nothing inbox applies nothing when one row is rejected.
source "$(dirname "$0")/lib.sh"
setup_ledger
D=$(days_ago 3)
mkdir -p "$WORK/out"
printf 'ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nB-1,19816,P-77,O-1,%s,100.00\r\nB-2,19816,P-77,O-2,%s,200.00\r\n' "$D" "$D" > "$WORK/conv.csv"
expect_exit 0 ad apply --account 1000 --type conversions --outbox "$WORK/out" "$WORK/conv.csv"
before=$(ad report actions --account 1000 | sha256sum)

printf 'ActionId,Amount,Reason\r\nB-1,90.00,ORDER_UPDATE\r\nB-2,,CONS_FRAUD\r\n' > "$WORK/mods.csv"
expect_exit 0 ad apply --account 1000 --dry-run --outbox "$WORK/out" "$WORK/mods.csv"
[ -f "$WORK/out/result_mods.csv" ] || fail "dry run wrote no result"
# Its answers say they are a dry run's, and so does the command.
[ "$(json_field "$WORK/out/mods.csv_summary.json" dry_run)" = True ] ||
    fail "a dry run's summary does not say so"
python3 -c 'import json,sys; assert "as_of" not in json.load(open(sys.argv[1]))' \
    "$WORK/out/mods.csv_summary.json" || fail "as_of without --as-of"
grep -q '^  a dry run: the ledger is unchanged' "$WORK/last.out" || fail "the command does not say it was a dry run"
[ "$(ad report actions --account 1000 | sha256sum)" = "$before" ] || fail "dry run changed the ledger"

# As of a day after the locking date, every row is ACTION_LOCKED.
AS_OF=$(date -u -d '+200 days' +%Y-%m-%dT00:00:00Z)
expect_exit 3 ad apply --account 1000 --dry-run --as-of "$AS_OF" --outbox "$WORK/out" "$WORK/mods.csv"
grep -c ACTION_LOCKED "$WORK/out/result_mods.csv" | grep -qx 2 || fail "as-of: expected two ACTION_LOCKED rows"
[ "$(json_field "$WORK/out/mods.csv_summary.json" as_of)" = "$AS_OF" ] ||
    fail "as-of: the summary does not name the time"
expect_exit 64 ad apply --account 1000 --as-of 2027-01-01 --outbox "$WORK/out" "$WORK/mods.csv"
[ "$(ad report actions --account 1000 | sha256sum)" = "$before" ] || fail "as-of changed the ledger"

# The dry run did not make the real run a duplicate.
expect_exit 0 ad apply --account 1000 --outbox "$WORK/out" "$WORK/mods.csv"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert "dry_run" not in s and "as_of" not in s, s' \
    "$WORK/out/mods.csv_summary.json" || fail "a real run's summary says dry_run"
! grep -q 'a dry run' "$WORK/last.out" || fail "a real run says it was a dry run"
# A folder named as the file is not "no such file".
expect_exit 64 ad apply --account 1000 --outbox "$WORK/out" "$WORK/out"
grep -q 'out: not a regular file' "$WORK/last.err" || fail "a folder as the file: $(cat "$WORK/last.err")"
# A dry run says what the file would do now: the same content again is a duplicate, as it
# would be for a real upload, and nothing changes.
cp "$WORK/mods.csv" "$WORK/again.csv"
before=$(ad report actions --account 1000 | sha256sum)
expect_exit 65 ad apply --account 1000 --dry-run --outbox "$WORK/out" "$WORK/again.csv"
[ "$(json_field "$WORK/out/again.csv_summary.json" error_code)" = DUPLICATE_FILE ] ||
    fail "a dry run of applied content: expected DUPLICATE_FILE"
[ "$(json_field "$WORK/out/again.csv_summary.json" dry_run)" = True ] ||
    fail "a dry run's duplicate does not say it is a dry run's"
[ ! -e "$WORK/out/result_again.csv" ] || fail "a duplicate's dry run wrote a result file"
[ "$(ad report actions --account 1000 | sha256sum)" = "$before" ] || fail "dry run changed the ledger"

# all_or_nothing through a configured inbox.
cat > "$WORK/actiondrop.yaml" <<YAML
store: $STORE
state_dir: $WORK/state
inboxes:
  - {name: strict, account: "1000", type: modifications, kind: local, path: $WORK/inbox, outbox: $WORK/strict-out, all_or_nothing: true}
YAML
mkdir -p "$WORK/inbox" "$WORK/strict-out"
before=$(ad report actions --account 1000 | sha256sum)
printf 'ActionId,Amount,Reason\r\nB-1,80.00,ORDER_UPDATE\r\nB-404,1.00,ORDER_UPDATE\r\n-B-9,1.00,ORDER_UPDATE\r\n' > "$WORK/strict.csv"
expect_exit 65 "$ACTIONDROP" --config "$WORK/actiondrop.yaml" apply --inbox strict "$WORK/strict.csv"
S="$WORK/strict-out/strict.csv_summary.json"
[ "$(json_field "$S" status)" = REJECTED ] || fail "all_or_nothing: status"
[ "$(json_field "$S" error_code)" = ROWS_REJECTED ] || fail "all_or_nothing: code"
check_csv "$WORK/strict-out/result_strict.csv" /dev/stdin <<'CSV'
Line,ActionId,Outcome,ErrorCode
2,B-1,NOT_APPLIED,
3,B-404,REJECTED,ACTION_REF_NOT_FOUND
4,'-B-9,REJECTED,ACTION_REF_NOT_FOUND
CSV
check_csv "$WORK/strict-out/errors_strict.csv" /dev/stdin <<'CSV'
ActionId,ErrorCode
B-404,ACTION_REF_NOT_FOUND
'-B-9,ACTION_REF_NOT_FOUND
CSV
[ "$(ad report actions --account 1000 | sha256sum)" = "$before" ] || fail "all_or_nothing applied something"

# A dry run through an inbox takes its options, not its outbox: the advertiser's answers
# stay as the service wrote them, and the dry run answers in the file's own folder.
real_summary=$(sha256sum < "$WORK/strict-out/strict.csv_summary.json")
real_result=$(sha256sum < "$WORK/strict-out/result_strict.csv")
mkdir -p "$WORK/trial"
printf 'ActionId,Bogus\r\nB-1,1\r\n' > "$WORK/trial/strict.csv"
expect_exit 65 "$ACTIONDROP" --config "$WORK/actiondrop.yaml" apply --inbox strict --dry-run \
    "$WORK/trial/strict.csv"
[ "$(sha256sum < "$WORK/strict-out/strict.csv_summary.json")" = "$real_summary" ] ||
    fail "a dry run through an inbox replaced the advertiser's summary"
[ "$(sha256sum < "$WORK/strict-out/result_strict.csv")" = "$real_result" ] ||
    fail "a dry run through an inbox touched the advertiser's result file"
[ "$(json_field "$WORK/trial/strict.csv_summary.json" error_code)" = UNKNOWN_COLUMN ] ||
    fail "the dry run's answer is not in the file's folder"
