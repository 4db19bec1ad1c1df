#pragma once
// The reader's limits (batch::Limits) from the service config's (config::FileLimits): the one
// place that copies them key by key, so that a limit added to both cannot be configured and
// then silently left at its default on the way to the reader.
#include "batch/csv_reader.hpp"
#include "config/service_config.hpp"

namespace actiondrop::apply {

inline batch::Limits reader_limits(const config::FileLimits& limits) {
    // A key added to one struct and not here changes the size of one of them.
    static_assert(sizeof(batch::Limits) == sizeof(config::FileLimits) &&
                  sizeof(batch::Limits) == 5 * sizeof(std::int64_t));
    return {.max_file_bytes = limits.max_file_bytes,
            .max_rows = limits.max_rows,
            .max_line_bytes = limits.max_line_bytes,
            .max_record_bytes = limits.max_record_bytes,
            .max_fields = limits.max_fields};
}

}  // namespace actiondrop::apply
