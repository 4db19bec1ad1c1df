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
