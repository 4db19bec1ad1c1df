#!/usr/bin/env bash
# Every file of the bad-input corpus (tests/data/bad/MANIFEST.tsv) gets its expected
# file- or row-level error from the real binary, nothing crashes and a rejected file
# changes nothing.
source "$(dirname "$0")/lib.sh"
setup_ledger
BAD="$SOURCE_DIR/tests/data/bad"
[ -f "$BAD/MANIFEST.tsv" ] || fail "no corpus manifest"
checked=0
while IFS=$'\t' read -r file type level expected account; do
    case "$file" in ''|'#'*|file) continue ;; esac
    account=${account:-1000}
    # The ledger has no funds: a transfer row that passes its checks is INSUFFICIENT_FUNDS.
    out="$WORK/out/$file"; mkdir -p "$out"
    before=$(ad report actions --account "$account" | sha256sum)
    code=0
    ad apply --account "$account" --type "$type" --outbox "$out" "$BAD/$file" > "$WORK/run.log" 2>&1 || code=$?
    case "$code" in 0|3|65) ;; *) cat "$WORK/run.log" >&2; fail "$file: exit $code (a crash or an I/O error)" ;; esac
    summary="$out/${file}_summary.json"
    [ -f "$summary" ] || fail "$file: no summary"
    case "$level" in
        file)
            [ "$code" = 65 ] || fail "$file: exit $code, expected 65"
            got=$(json_field "$summary" error_code)
            [ "$got" = "$expected" ] || fail "$file: file-level $got, expected $expected"
            [ ! -e "$out/result_$file" ] || fail "$file: a rejected file got a result file"
            [ "$(ad report actions --account "$account" | sha256sum)" = "$before" ] || fail "$file: the ledger changed"
            ;;
        row)
            line=${expected%%:*}; want=${expected#*:}
            python3 - "$out/result_$file" "$line" "$want" <<'PY' || fail "$file: expected $expected"
import csv, sys
rows = {r["Line"]: r for r in csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8"))}
r = rows.get(sys.argv[2])
assert r is not None, f"no result line {sys.argv[2]}"
assert r["ErrorCode"] == sys.argv[3], f"line {sys.argv[2]}: {r['ErrorCode']} ({r['Message']})"
PY
            ;;
        ok)
            [ "$code" != 65 ] || fail "$file: rejected as a whole"
            ;;
        *) fail "$file: unknown level $level" ;;
    esac
    checked=$((checked + 1))
done < "$BAD/MANIFEST.tsv"
[ "$checked" -ge 25 ] || fail "only $checked corpus files checked"
echo "checked $checked corpus files"
