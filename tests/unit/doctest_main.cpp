#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace {

// Whether a run of test cases began (a listing, --count or --help begins none), and how many
// test cases it started.
bool run_started = false;
int cases_started = 0;

struct CountCases : doctest::IReporter {
    explicit CountCases(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override { run_started = true; }
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { ++cases_started; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

DOCTEST_REGISTER_LISTENER("count_cases", 0, CountCases);

}  // namespace

// A run that runs no test case fails. CTest runs each test case by a filter on its name, and
// doctest passes a filter that matches nothing, so a name CTest got wrong (one CMake cut at a
// ';', say) would pass without running.
int main(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int result = context.run();
    if (run_started && cases_started == 0) {
        std::fputs("[doctest] no test case ran: the filters select none\n", stderr);
        return result != 0 ? result : 1;
    }
    return result;
}
