// The example files shipped in etc/ must load as they are: sysadmins start from them.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>

#include "config/catalog_file.hpp"
#include "config/service_config.hpp"
#include "config_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::config;

namespace {
const std::filesystem::path kEtc =
    std::filesystem::path(ACTIONDROP_TEST_DATA) / ".." / ".." / "etc";
}

TEST_CASE("etc examples: the demo catalog loads without an error") {
    auto catalog = read_catalog_file(kEtc / "catalog.yaml");
    INFO((catalog ? std::string() : test::all_errors(catalog.error())));
    REQUIRE(catalog);
    const ledger::Account* acme = catalog->account("1000");
    REQUIRE(acme != nullptr);
    CHECK(acme->currency->code == "USD");
    CHECK(acme->timezone_name == "America/New_York");
    CHECK(acme->trackers.at("19817").open_ended);
    CHECK(acme->trackers.at("19818").parent_tracker == "19816");
    CHECK(acme->disposition("STAY_COMPLETE")->effect == ledger::Disposition::Effect::Approve);
    CHECK(acme->disposition("NO_SHOW")->effect == ledger::Disposition::Effect::Reject);
    const ledger::Contract* c1 = acme->contract_for("P-77", "19816");
    REQUIRE(c1 != nullptr);
    CHECK(c1->versions.size() == 2);
    CHECK(c1->versions[0].promo_codes.at(0).code == "FREESHIP0");
    CHECK(c1->versions[0].promo_codes.at(0).rule.fixed == 0);
    // In November 2026 the July version is in force.
    auto november = ledger::parse_instant("2026-11-24T12:00:00Z", acme->timezone);
    REQUIRE(november);
    CHECK(c1->version_at(*november) == &c1->versions[1]);
    CHECK(acme->contract_for("P-88", "19817") != nullptr);  // an all-trackers contract
    CHECK(acme->contract_for("P-99", "19816") == nullptr);  // hotel bookings only
    const ledger::Account* sakura = catalog->account("2000");
    REQUIRE(sakura != nullptr);
    CHECK(sakura->currency->code == "JPY");
    CHECK(sakura->invoice_calendar.period_ends.size() == 12);
    CHECK(catalog->fx_rate("EUR", "JPY", std::chrono::sys_days{std::chrono::year{2026} / 11 / 1})
              .has_value());
    CHECK(catalog->fx_rate("USD", "JPY", std::chrono::sys_days{std::chrono::year{2026} / 11 / 1})
              .has_value());
    CHECK(catalog->fx_rate("EUR", "USD", std::chrono::sys_days{std::chrono::year{2026} / 11 / 1}) ==
          ledger::Decimal{10920000000, 10});
}

TEST_CASE("etc examples: the demo catalog loaded twice merges to itself") {
    auto catalog = read_catalog_file(kEtc / "catalog.yaml");
    REQUIRE(catalog);
    auto now = ledger::parse_instant("2026-11-24T12:00:00Z", ledger::find_time_zone("UTC"));
    auto merged = merge_catalog(*catalog, *catalog, *now, "catalog.yaml");
    INFO((merged ? std::string() : test::all_errors(merged.error())));
    CHECK(merged);
}

TEST_CASE("etc examples: the example service config loads without an error") {
    auto config = read_service_config(kEtc / "actiondrop.yaml");
    INFO((config ? std::string() : test::all_errors(config.error())));
    REQUIRE(config);
    CHECK(config->store == "sqlite:/var/lib/actiondrop/ledger.db");
    CHECK(config->state_dir == "/var/lib/actiondrop");
    REQUIRE(config->inboxes.size() == 2);
    const InboxConfig* modifications = config->inbox("acme-modifications");
    REQUIRE(modifications != nullptr);
    CHECK(modifications->account == "1000");
    CHECK(modifications->type == "modifications");
    const InboxConfig* conversions = config->inbox("acme-conversions");
    REQUIRE(conversions != nullptr);
    CHECK(conversions->type == "conversions");
    CHECK(conversions->limits.max_rows == 1'000'000);
    CHECK(conversions->limits.max_line_bytes == 64 * 1024);
    CHECK(conversions->limits.max_record_bytes == 1 << 20);
    CHECK(conversions->limits.max_fields == 2000);
}

TEST_CASE("etc examples: the commented-out sftp and ftp inboxes are valid once uncommented") {
    std::ifstream in(kEtc / "actiondrop.yaml");
    std::string text, line;
    while (std::getline(in, line)) {
        // Uncomment the example block: lines that start with "  # " followed by YAML of the inbox.
        if (line.starts_with("  # - name:") || line.starts_with("  #   "))
            line = "  " + line.substr(4);
        text += line + "\n";
    }
    auto folder = std::filesystem::temp_directory_path() / "actiondrop-etc-example";
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "actiondrop.yaml") << text;
    auto config = read_service_config(folder / "actiondrop.yaml");
    std::filesystem::remove_all(folder);
    INFO((config ? std::string() : test::all_errors(config.error())));
    REQUIRE(config);
    const InboxConfig* pull = config->inbox("sakura-pull");
    REQUIRE(pull != nullptr);
    CHECK(pull->kind() == "sftp");
    REQUIRE(pull->remote() != nullptr);
    CHECK(pull->remote()->archive_folder == "/exports/done");
    const InboxConfig* ftp = config->inbox("kite-ftp");
    REQUIRE(ftp != nullptr);
    REQUIRE(std::holds_alternative<FtpSource>(ftp->source));
    CHECK(std::get<FtpSource>(ftp->source).tls == FtpTls::Explicit);
    CHECK(std::get<FtpSource>(ftp->source).ca_file == "/etc/actiondrop/kite-ca.pem");
}

namespace {

// The sample files hold no quoted fields, so a plain split reads them.
std::vector<std::map<std::string, std::string>> sample_rows(const std::string& name) {
    std::ifstream in(kEtc / "samples" / name);
    REQUIRE(in);
    auto split = [](const std::string& line) {
        std::vector<std::string> cells;
        std::size_t start = 0;
        for (std::size_t comma; (comma = line.find(',', start)) != std::string::npos;
             start = comma + 1)
            cells.push_back(line.substr(start, comma - start));
        cells.push_back(line.substr(start));
        return cells;
    };
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header = split(line);
    std::vector<std::map<std::string, std::string>> rows;
    while (std::getline(in, line)) {
        std::vector<std::string> cells = split(line);
        REQUIRE(cells.size() == header.size());
        std::map<std::string, std::string> row;
        for (std::size_t i = 0; i < cells.size(); ++i) row[header[i]] = cells[i];
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace

TEST_CASE(
    "etc examples: the sample files name trackers, partners, contracts and codes of the demo "
    "catalog") {
    auto catalog = read_catalog_file(kEtc / "catalog.yaml");
    REQUIRE(catalog);
    const ledger::Account& acme = *catalog->account("1000");
    std::set<std::string> action_ids, order_ids;
    for (const char* file : {"conversions_seed.csv", "budget_cap.csv"}) {
        auto rows = sample_rows(file);
        CHECK(rows.size() >= 3);
        for (const auto& row : rows) {
            INFO(file << " " << row.at("ActionId"));
            CHECK(action_ids.insert(row.at("ActionId")).second);
            order_ids.insert(row.at("OrderId"));
            CHECK(acme.tracker(row.at("ActionTrackerId")) != nullptr);
            CHECK(acme.contract_for(row.at("PartnerId"), row.at("ActionTrackerId")) != nullptr);
            CHECK(row.at("EventDate").starts_with("2026-11-"));
        }
    }
    for (const char* file : {"returned_order.csv", "attribution_fraud.csv", "wrong_sku.csv",
                             "hotel_stay_approved.csv", "stock_shortage.csv"}) {
        auto rows = sample_rows(file);
        CHECK(rows.size() >= 3);
        CHECK(rows.size() <= 10);
        for (const auto& row : rows) {
            INFO(file << " " << (row.contains("ActionId") ? row.at("ActionId") : ""));
            bool by_id = !row.at("ActionId").empty();
            CHECK((by_id ? action_ids.contains(row.at("ActionId"))
                         : order_ids.contains(row.at("OrderId"))));
            if (row.contains("DispositionCode") && !row.at("DispositionCode").empty())
                CHECK(acme.disposition(row.at("DispositionCode")) != nullptr);
        }
    }
}
