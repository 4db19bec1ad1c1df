#pragma once
// Writing a file so that no reader ever sees it half-written and a crash never leaves a
// torn file: write to a unique temporary name in the same folder, fsync the file, rename
// over the destination, fsync the folder. Unlike ccache's AtomicFile, this one is
// durable, not only atomic. A failure throws std::system_error naming the path.
#include <filesystem>
#include <string_view>

namespace actiondrop::util {

// Temporary names start with '.' and end with ".tmp", so inbox scanners skip them.
void write_file_atomically(const std::filesystem::path& destination, std::string_view content);
void copy_file_atomically(const std::filesystem::path& source,
                          const std::filesystem::path& destination);
// The same from an open descriptor (read with pread from offset 0); `source` names it in
// errors only.
void copy_descriptor_atomically(int source_fd, const std::filesystem::path& source,
                                const std::filesystem::path& destination);
void fsync_directory(const std::filesystem::path& folder);
// Creates `folder` and its parents when missing.
void create_folders(const std::filesystem::path& folder);

}  // namespace actiondrop::util
