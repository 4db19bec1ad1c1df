#pragma once
// How a service names itself to the others that share its store or its folders
// (docs/postgres.md, "Instances"): its host and one of its own folders, which stay the same
// across its restarts and differ between services.
#include <filesystem>
#include <string>

namespace actiondrop::util {

// "host:/canonical/folder" (the folder made absolute, links resolved where it exists).
std::string service_name(const std::filesystem::path& folder);

}  // namespace actiondrop::util
