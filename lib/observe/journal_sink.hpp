#pragma once
// An spdlog sink that writes each log line to the systemd journal as one entry with
// fields (util/journal_fields.hpp says which), instead of a line of text on stderr.
//
// Header-only: the observe layer passes spdlog and libsystemd on to whatever links it,
// so that util, below it, needs neither. The send function is a parameter so that a test
// can see the exact entry; a failed send (journald restarting) writes the line to stderr.
#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "util/journal_fields.hpp"

namespace actiondrop::observe {

// Sends one entry ("NAME=value" strings); returns 0, or a negative errno value.
using JournalSend = std::function<int(const std::vector<std::string>& entry)>;

// The journal's own client: the native protocol on /run/systemd/journal/socket.
inline int send_to_journald(const std::vector<std::string>& entry) {
    std::vector<iovec> parts;
    parts.reserve(entry.size());
    for (const auto& field : entry)
        parts.push_back({const_cast<char*>(field.data()), field.size()});
    // The function, not sd-journal.h's macro of the same name: the macro would add
    // CODE_FILE and CODE_LINE of this line to every entry.
    return (sd_journal_sendv)(parts.data(), static_cast<int>(parts.size()));
}

template <typename Mutex>
class JournalSink : public spdlog::sinks::base_sink<Mutex> {
public:
    explicit JournalSink(std::string identifier, JournalSend send = send_to_journald)
        : identifier_(std::move(identifier)), send_(std::move(send)) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        if (send_(util::journal_entry(text, level_of(msg.level), identifier_)) >= 0) return;
        std::string line = fmt::format("{}: {}\n", spdlog::level::to_string_view(msg.level), text);
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }

private:
    static util::LogLevel level_of(spdlog::level::level_enum level) {
        static_assert(static_cast<int>(util::LogLevel::trace) == spdlog::level::trace &&
                      static_cast<int>(util::LogLevel::critical) == spdlog::level::critical);
        return level >= spdlog::level::critical
                   ? util::LogLevel::critical
                   : static_cast<util::LogLevel>(static_cast<int>(level));
    }

    std::string identifier_;
    JournalSend send_;
};

using JournalSinkMt = JournalSink<std::mutex>;

}  // namespace actiondrop::observe
