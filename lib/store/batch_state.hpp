#pragma once
// The states of a batch's journal record (docs/ingest.md, "The journal of a batch"), as the
// store keeps them. Which moves between them are allowed is the apply floor's business
// (apply/journal.hpp); the store only names, reads and writes them.
#include <optional>
#include <string_view>

namespace actiondrop::store {

enum class BatchState {
    Claimed,      // recorded; nothing committed yet (attempts count the tries)
    Applied,      // rows, results and outputs committed; answers not delivered yet
    Delivered,    // answers in the outbox
    Archived,     // COMPLETE, original kept under archive/
    Failed,       // REJECTED, original kept under failed/
    Quarantined,  // set aside: refused or failing before the commit, or undeliverable after it
};

// The name stored and shown: claimed, applied, delivered, archived, failed, quarantined.
std::string_view state_name(BatchState state);
// The state of a stored name; nullopt for any other text.
std::optional<BatchState> parse_state(std::string_view name);

}  // namespace actiondrop::store
