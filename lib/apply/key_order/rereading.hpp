#pragma once
// The batch file read again through its descriptor, positioned after its header and `skip`
// data rows. Key order reads a span of rows once to find their keys, then again for each
// range of keys (apply/key_order/pipeline.hpp), and file order may take over from the start
// of a span (apply/apply_file.cpp). The first reading found these rows well formed, so a
// failure now means that the file changed meanwhile: that throws, and the batch is read
// again from the start on its next attempt.
#include <cstddef>

#include "batch/csv_reader.hpp"
#include "util/opened_file.hpp"

namespace actiondrop::apply::key_order {

class Rereading {
public:
    Rereading(const util::OpenedFile& file, const batch::Limits& limits, std::size_t skip);
    // The next record; false at the end of the file.
    bool next(batch::Record& record) {
        auto more = reader_.next(record);
        if (!more) changed();
        return *more;
    }
    batch::CsvReader& reader() { return reader_; }
    [[noreturn]] static void changed();

private:
    util::DescriptorStream in_;
    batch::CsvReader reader_;
};

}  // namespace actiondrop::apply::key_order
