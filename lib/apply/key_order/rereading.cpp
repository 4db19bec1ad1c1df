#include "apply/key_order/rereading.hpp"

#include <stdexcept>

namespace actiondrop::apply::key_order {

Rereading::Rereading(const util::OpenedFile& file, const batch::Limits& limits, std::size_t skip)
    : in_(file.fd(), file.path()), reader_(in_, limits) {
    batch::Record record;
    for (std::size_t i = 0; i <= skip; ++i)
        if (!next(record)) changed();
}

void Rereading::changed() {
    throw std::runtime_error("the batch file changed while it was applied");
}

}  // namespace actiondrop::apply::key_order
