#include <doctest/doctest.h>

#include "apply/file_limits.hpp"

using namespace actiondrop;

TEST_CASE("apply: every configured limit reaches the reader, and the defaults agree") {
    const config::FileLimits configured{.max_file_bytes = 1,
                                        .max_rows = 2,
                                        .max_line_bytes = 3,
                                        .max_record_bytes = 4,
                                        .max_fields = 5};
    const batch::Limits limits = apply::reader_limits(configured);
    CHECK(limits.max_file_bytes == 1);
    CHECK(limits.max_rows == 2);
    CHECK(limits.max_line_bytes == 3);
    CHECK(limits.max_record_bytes == 4);
    CHECK(limits.max_fields == 5);

    const batch::Limits defaults = apply::reader_limits({});
    const batch::Limits reader_defaults;
    CHECK(defaults.max_file_bytes == reader_defaults.max_file_bytes);
    CHECK(defaults.max_rows == reader_defaults.max_rows);
    CHECK(defaults.max_line_bytes == reader_defaults.max_line_bytes);
    CHECK(defaults.max_record_bytes == reader_defaults.max_record_bytes);
    CHECK(defaults.max_fields == reader_defaults.max_fields);
}
