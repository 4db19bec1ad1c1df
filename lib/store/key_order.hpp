#pragma once
// An optional capability of a batch's transaction: reading and writing the ledger in the
// store's own key order, so that each of its pages is read and written once (README.md, "How a
// file is applied exactly once", step 3). A store that has no such order offers none
// (BatchTransaction::key_order() is null) and the file is applied in file order.
//
// These are hints about the rows to come: none of them changes what the rules see.
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace actiondrop::store {

class KeyOrder {
public:
    // Where an action sits in the store's key order, and whether another action names it
    // as its parent (a reversal of it may then change those children too).
    struct ActionKey {
        std::int64_t key = 0;
        bool has_children = false;
    };
    // Actions read by read_ahead(), for prefetch_keys().
    struct ReadAhead {
        virtual ~ReadAhead() = default;
    };

    // The next rows will look these actions up: read them now, in the store's order.
    virtual void prefetch(std::string_view account_id,
                          std::vector<std::string_view> action_ids) = 0;
    // For each id, its action's ActionKey, or nullopt when the account has no such action.
    // Rows sorted by these keys make the store read and write each of its pages once.
    // An empty answer means that the store has no key order to offer for these rows.
    virtual std::vector<std::optional<ActionKey>> action_keys(
        std::string_view account_id, const std::vector<std::string_view>& action_ids) = 0;
    // Reads the stored actions of these keys (from action_keys(), ascending) as they were
    // when the transaction began, on the calling thread: one other thread may call it while
    // the transaction is used, but not while it commits or rolls back. nullptr when the
    // store cannot: prefetch_keys() then reads them itself.
    virtual std::unique_ptr<ReadAhead> read_ahead(std::string_view account_id,
                                                  const std::vector<std::int64_t>& keys) = 0;
    // prefetch() of actions known by the keys that action_keys() gave, in ascending order.
    // The actions in `ahead` that the transaction has not written since are taken from it;
    // the others are read now.
    virtual void prefetch_keys(std::string_view account_id, const std::vector<std::int64_t>& keys,
                               std::unique_ptr<ReadAhead> ahead = nullptr) = 0;

protected:
    // Owned by the transaction that offers it, never deleted through this interface.
    ~KeyOrder() = default;
};

}  // namespace actiondrop::store
