#pragma once
// The port of a batch's unit of work: a write transaction, seen by the rules as the ledger
// (README.md, "How a file is applied exactly once").
#include <memory>
#include <string_view>
#include <vector>

#include "ledger/view.hpp"
#include "store/batch_journal.hpp"
#include "store/key_order.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

// Reads see the transaction's own writes. Changes are buffered and written in key order
// by flush() (called by the apply layer every few thousand rows to bound memory;
// pointers handed out before a flush become invalid). Nothing is durable until commit().
class BatchTransaction : public ledger::LedgerView {
public:
    // The store's key order for the rows to come (key_order.hpp), or nullptr when it has
    // none. It lives as long as the transaction.
    virtual KeyOrder* key_order() { return nullptr; }

    // The key-order hints as they were asked before key_order() existed, with the defaults of
    // a store that has none; kept until lib/apply asks key_order() instead.
    using ActionKey = KeyOrder::ActionKey;
    using ReadAhead = KeyOrder::ReadAhead;
    virtual void prefetch(std::string_view account_id, std::vector<std::string_view> action_ids) {
        (void)account_id;
        (void)action_ids;
    }
    virtual std::vector<std::optional<ActionKey>> action_keys(
        std::string_view account_id, const std::vector<std::string_view>& action_ids) {
        (void)account_id;
        (void)action_ids;
        return {};
    }
    virtual std::unique_ptr<ReadAhead> read_ahead(std::string_view account_id,
                                                  const std::vector<std::int64_t>& keys) {
        (void)account_id;
        (void)keys;
        return nullptr;
    }
    virtual void prefetch_keys(std::string_view account_id, const std::vector<std::int64_t>& keys,
                               std::unique_ptr<ReadAhead> ahead = nullptr) {
        (void)account_id;
        (void)keys;
        (void)ahead;
    }

    virtual void flush() = 0;
    // Writes the final journal record and the outputs, and commits everything at once.
    virtual void commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) = 0;
    // Drops every change of this transaction (also done by the destructor).
    virtual void rollback() = 0;
};

class BatchTransactions {
public:
    virtual ~BatchTransactions() = default;

    // Starts a batch's write transaction (one at a time per store).
    virtual std::unique_ptr<BatchTransaction> begin_batch(std::string_view batch_id) = 0;
};

}  // namespace actiondrop::store
