#include "apply/row_report.hpp"

#include "batch/outputs.hpp"

namespace actiondrop::apply {

namespace {
constexpr std::size_t problem_message_bytes = 300;
}

void write_lines(const ledger::RowResult& row, const batch::Record& record,
                 const batch::Layout& layout, std::ostream& results, std::ostream& errors) {
    if (row.outcome != ledger::Outcome::Applied) {
        auto cells = layout.original_cells(record);
        cells.emplace_back(ledger::error_name(row.error));
        cells.push_back(row.message);
        batch::write_csv_record(errors, cells);
    }
    batch::write_result_line(results, row);
}

RowProblem kept_problem(RowProblem problem) {
    if (problem.message.size() > problem_message_bytes) {
        std::size_t cut = problem_message_bytes;  // not inside a UTF-8 sequence
        while (cut > 0 && (static_cast<unsigned char>(problem.message[cut]) & 0xC0) == 0x80) --cut;
        problem.message = problem.message.substr(0, cut) + "...";  // and the rest freed
    }
    return problem;
}

}  // namespace actiondrop::apply
