#pragma once
// An output stream into a string that is kept and reused: the result and error lines of one
// row are written by the batch writers (batch/outputs.hpp, which take a std::ostream) into
// it, then handed on as bytes (apply/key_order/line_runs.hpp). Unlike std::ostringstream,
// text() gives the string itself, without a copy, and clearing it keeps its capacity.
#include <ostream>
#include <streambuf>
#include <string>

namespace actiondrop::apply::key_order {

class StringBuf : public std::streambuf {
public:
    std::string text;

private:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof()))
            text.push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        text.append(s, static_cast<std::size_t>(n));
        return n;
    }
};

class StringOut : public std::ostream {
public:
    StringOut() : std::ostream(&buf_) {}
    std::string& text() { return buf_.text; }

private:
    StringBuf buf_;
};

}  // namespace actiondrop::apply::key_order
