#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "util/sha256.hpp"

using namespace actiondrop::util;

TEST_CASE("sha256 of known vectors") {
    Sha256 empty;
    CHECK(empty.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    Sha256 abc;
    abc.update("a");
    abc.update("bc");
    CHECK(abc.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("digest_file hashes the whole file and counts its bytes") {
    auto path = std::filesystem::temp_directory_path() / "actiondrop_sha_test.txt";
    { std::ofstream(path, std::ios::binary) << "abc"; }
    auto d = digest_file(path);
    CHECK(d.size == 3);
    CHECK(d.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    std::filesystem::remove(path);
    CHECK_THROWS_AS(digest_file(path), std::system_error);
}
