#pragma once
// What a counted row reports: its line in result_NAME, its line in errors_NAME when it was
// rejected (docs/formats.md), and its problem as a terminal is shown it.
#include <ostream>

#include "apply/apply_file.hpp"
#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "ledger/rules.hpp"

namespace actiondrop::apply {

// The first rejected rows kept for a terminal (ApplyResult::first_problems).
constexpr std::size_t problems_kept = 20;

// A counted row's result line, and its error line when it was rejected.
void write_lines(const ledger::RowResult& row, const batch::Record& record,
                 const batch::Layout& layout, std::ostream& results, std::ostream& errors);

// A rejected row as the terminal is shown it: its message cut after 300 bytes (it may quote
// a value as long as a record), and the rest freed.
RowProblem kept_problem(RowProblem problem);

}  // namespace actiondrop::apply
