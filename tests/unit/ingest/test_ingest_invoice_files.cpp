// Invoice files written again after a process was killed while it wrote them
// (ingest/invoice_files.hpp): what the killed writer left half-done goes, what a live one is
// writing stays.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "ingest/invoice_files.hpp"
#include "ledger/money.hpp"
#include "temp_dir.hpp"

using namespace actiondrop;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names(const fs::path& folder) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(folder))
        out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// A process id that no process has now: a child that has ended and been reaped.
pid_t ended_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
}

// INV-1000-20260401-P-77: one action line of 10.00 USD.
lifecycle::Invoice one_invoice() {
    lifecycle::Invoice inv;
    inv.invoice_id = "INV-1000-20260401-P-77";
    inv.account_id = "1000";
    inv.partner_id = "P-77";
    inv.currency = ledger::find_currency("USD");
    lifecycle::InvoiceLine line;
    line.id = "A1";
    line.payout = 1000;
    inv.lines.push_back(line);
    inv.total = 1000;
    return inv;
}

}  // namespace

TEST_CASE("invoice files: temporaries of a killed writer are removed, a live writer's are left") {
    testing::TempDir dir("actiondrop-ingest");
    ingest::InvoiceDestinations to;
    to.record = dir.path() / "invoices" / "1000";
    to.outboxes.push_back(dir.path() / "outbox");
    fs::create_directories(to.record);
    fs::create_directories(to.outboxes[0]);
    const std::string dead =
        "."
        "invoice_INV-1000-20260401-P-77.csv." +
        std::to_string(ended_pid()) + ".00000000deadbeef.tmp";
    const std::string live =
        "."
        "invoice_INV-1000-20260501-P-77.json." +
        std::to_string(::getpid()) + ".00000000cafef00d.tmp";
    const std::string other =
        ".result_a.csv." + std::to_string(ended_pid()) + ".0000000000000001.tmp";
    for (const fs::path& folder : {to.record, to.outboxes[0]}) {
        testing::write(folder / dead, "half an invoice");
        testing::write(folder / live, "being written");
        testing::write(folder / other, "not ours to judge");
    }

    const lifecycle::Invoice inv = one_invoice();
    const auto result =
        ingest::write_invoice_files(to, std::span<const lifecycle::Invoice>(&inv, 1));
    CHECK(result.written == 1);
    CHECK(result.problems.empty());

    const std::vector<std::string> want = {other, live, "invoice_INV-1000-20260401-P-77.csv",
                                           "invoice_INV-1000-20260401-P-77.json"};
    std::vector<std::string> sorted_want = want;
    std::sort(sorted_want.begin(), sorted_want.end());
    CHECK(names(to.record) == sorted_want);
    CHECK(names(to.outboxes[0]) == sorted_want);
}

TEST_CASE("invoice files: an invoice that cannot be written keeps none of the others back") {
    testing::TempDir dir("actiondrop-ingest");
    ingest::InvoiceDestinations to;
    to.record = dir.path() / "invoices" / "1000";
    to.outboxes.push_back(dir.path() / "outbox");
    // An id that cannot name a file (a store loaded before the catalog refused a '/'), then
    // one that can.
    std::vector<lifecycle::Invoice> invoices(2);
    for (std::size_t i = 0; i < invoices.size(); ++i) {
        lifecycle::Invoice& inv = invoices[i];
        inv.partner_id = i == 0 ? "P/2" : "P-3";
        inv.invoice_id = "INV-1000-20260401-" + inv.partner_id;
        inv.account_id = "1000";
        inv.currency = ledger::find_currency("USD");
        lifecycle::InvoiceLine line;
        line.id = "A" + std::to_string(i);
        line.payout = 100;
        inv.lines.push_back(line);
        inv.total = 100;
    }
    const auto result = ingest::write_invoice_files(to, invoices);
    CHECK(result.written == 1);
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].find("INV-1000-20260401-P/2") != std::string::npos);
    CHECK(result.problems[0].find("cannot name a file") != std::string::npos);
    CHECK(result.describe().starts_with("the files of 1 invoice were not written: "));
    const std::vector<std::string> want = {"invoice_INV-1000-20260401-P-3.csv",
                                           "invoice_INV-1000-20260401-P-3.json"};
    CHECK(names(to.record) == want);
    CHECK(names(to.outboxes[0]) == want);

    // The next write skips what is written and names the same problem again.
    const auto again = ingest::write_invoice_files(to, invoices);
    CHECK(again.written == 0);
    CHECK(again.problems.size() == 1);
}

TEST_CASE("invoice files: the problems of many invoices are one line that names the first three") {
    ingest::InvoiceFilesWritten result;
    CHECK(result.describe().empty());
    for (int i = 1; i <= 5; ++i) result.problems.push_back("problem " + std::to_string(i));
    CHECK(result.describe() ==
          "the files of 5 invoices were not written: problem 1; problem 2; problem 3; and 2 more");
}

TEST_CASE("invoice files: nothing is written through a link put in an outbox's place") {
    // An uploader who can rename its outbox could point it at another account's outbox or
    // into the state folder's claims (docs/ingest.md, "The outbox").
    testing::TempDir dir("actiondrop-ingest");
    ingest::InvoiceDestinations to;
    to.record = dir.path() / "invoices" / "1000";
    to.outboxes.push_back(dir.path() / "outbox");
    const fs::path elsewhere = dir.path() / "elsewhere";
    fs::create_directories(elsewhere);
    const std::string stale =
        "."
        "invoice_INV-1000-20260301-P-77.csv." +
        std::to_string(ended_pid()) + ".00000000deadbeef.tmp";
    testing::write(elsewhere / stale, "not the service's to remove through a link");
    fs::create_directory_symlink(elsewhere, to.outboxes[0]);
    const lifecycle::Invoice inv = one_invoice();
    const auto result =
        ingest::write_invoice_files(to, std::span<const lifecycle::Invoice>(&inv, 1));
    CHECK(result.written == 0);
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].find("is a symbolic link") != std::string::npos);
    CHECK(names(elsewhere) == std::vector<std::string>{stale});
    CHECK_FALSE(fs::exists(to.record / "invoice_INV-1000-20260401-P-77.json"));  // tried again

    // Mended: written at the next run.
    fs::remove(to.outboxes[0]);
    fs::create_directories(to.outboxes[0]);
    CHECK(ingest::write_invoice_files(to, std::span<const lifecycle::Invoice>(&inv, 1)).written ==
          1);
    CHECK(fs::exists(to.outboxes[0] / "invoice_INV-1000-20260401-P-77.json"));
}
