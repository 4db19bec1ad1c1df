#!/usr/bin/env bash
# `actiondrop catalog load` (docs/formats.md, "The catalog file"): it says what the file held
# and what the store holds after the merge, so that an operator who loads one account's file
# into a store of many sees both.
source "$(dirname "$0")/lib.sh"
expect_exit 0 ad init
expect_exit 0 ad catalog load "$SOURCE_DIR/tests/data/e2e/catalog.yaml"
grep -qxF "catalog loaded from $SOURCE_DIR/tests/data/e2e/catalog.yaml: 2 accounts, 3 contracts, 2 FX rates; the store now has 2 accounts, 3 contracts, 2 FX rates" "$WORK/last.out" ||
    { cat "$WORK/last.out" >&2; fail "the first load does not say what it loaded"; }

cat > "$WORK/one.yaml" <<'YAML'
accounts:
  - id: "3000"
    name: Third Shop
    currency: USD
    timezone: UTC
    trackers:
      - {id: "T1", name: Online Sale}
    partners:
      - {id: "P-1", name: A Blog}
    contracts:
      - id: K-1
        partner: "P-1"
        versions:
          - effective_from: 2026-01-01T00:00:00Z
            payout:
              default: {percent: "5"}
            locking: {after: event_day, days: 20}
            clearing: {months: 0, days: 10}
YAML
expect_exit 0 ad catalog load "$WORK/one.yaml"
grep -qxF "catalog loaded from $WORK/one.yaml: 1 account, 1 contract, 0 FX rates; the store now has 3 accounts, 4 contracts, 2 FX rates" "$WORK/last.out" ||
    { cat "$WORK/last.out" >&2; fail "a load of one account's file does not tell the file from the store"; }

# Loading again with a version in force changed is refused, naming the file, the version's
# line and column (14:13, where its map starts) and the version; the store keeps its terms.
sed 's/percent: "5"/percent: "6"/' "$WORK/one.yaml" > "$WORK/changed.yaml"
expect_exit 65 ad catalog load "$WORK/changed.yaml"
grep -qF "$WORK/changed.yaml:14:13: accounts[id=3000].contracts[id=K-1].versions[effective_from=2026-01-01T00:00:00Z]: contract 'K-1': the version effective from 2026-01-01T00:00:00Z is already in force" "$WORK/last.err" ||
    { cat "$WORK/last.err" >&2; fail "the refused reload does not name the version's line"; }
