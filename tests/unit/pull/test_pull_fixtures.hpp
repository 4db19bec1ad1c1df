#pragma once
// Shared by the pull tests: a temporary folder and small file helpers.
#include "temp_dir.hpp"

namespace actiondrop::pull::testing {

class TempDir : public actiondrop::testing::TempDir {
public:
    TempDir() : actiondrop::testing::TempDir("actiondrop-pull") {}
};

using actiondrop::testing::read;
using actiondrop::testing::write;

}  // namespace actiondrop::pull::testing
