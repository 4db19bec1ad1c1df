# Compiler flags of a fuzz build (ACTIONDROP_FUZZ=ON), included by the top CMakeLists before
# any library is defined: every object carries libFuzzer's coverage hooks and ASan/UBSan
# checks, so the fuzz targets in this folder see and check the library code itself.
# How to build and run: tests/fuzz/README.md.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "ACTIONDROP_FUZZ needs clang with libFuzzer; on Debian 12: "
                      "-DCMAKE_CXX_COMPILER=clang++-16 (packages clang-16 libclang-rt-16-dev)")
endif()
if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  # clang 14 (Debian 12's default) cannot compile libstdc++ 12's std::expected at all.
  message(FATAL_ERROR "ACTIONDROP_FUZZ needs clang 16 or later, not ${CMAKE_CXX_COMPILER_VERSION}: "
                      "-DCMAKE_CXX_COMPILER=clang++-16")
endif()
if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 19)
  # libstdc++ 12 declares std::expected only when __cpp_concepts >= 202002L. clang 16-18
  # implement what it needs (conditionally trivial special members, P0848) but still
  # announce 201907L, so the library code would not see <expected>.
  add_compile_options(-U__cpp_concepts -D__cpp_concepts=202002L)
endif()
# fuzzer-no-link: coverage instrumentation only; the targets link libFuzzer's main.
# No recovery: a UBSan report must stop the run so that libFuzzer saves the input.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
                    -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
