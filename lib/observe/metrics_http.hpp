#pragma once
// The HTTP endpoint a Prometheus server scrapes: GET /metrics and GET /healthz.
// It has no authentication, so it listens on a loopback address only (README.md, "The service")
// unless the caller explicitly allows another. It runs its own io_context on one thread that the
// server object owns; every handler runs on that thread, so their state needs no lock.
// One request per connection (no keep-alive); requests are bounded in size and time.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "observe/metrics.hpp"

namespace actiondrop::observe {

struct ListenAddress {
    std::string host;  // an IP address literal, IPv6 without brackets
    std::uint16_t port = 0;
};

// Parses "127.0.0.1:9464", "[::1]:9464" or "localhost:9464" (as 127.0.0.1). Names are not
// resolved. A non-loopback address is refused unless allow_non_loopback; the error says why.
std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text,
                                                               bool allow_non_loopback = false);

// Healthy, or why not (the body of the 503 answer). Called on the server's thread, so it
// must be safe to call from another thread than the service's.
using HealthCheck = std::function<std::expected<void, std::string>()>;

struct MetricsServerOptions {
    std::string listen = "127.0.0.1:9464";  // port 0 picks a free port
    bool allow_non_loopback = false;
    std::size_t max_request_bytes = 8 * 1024;         // request line, headers and body
    std::chrono::milliseconds request_timeout{5000};  // to read a request and answer it
    std::size_t max_connections = 32;                 // more are closed at once
};

class MetricsServer {
public:
    // `metrics`, and whatever `health` refers to, must outlive the server; an empty health
    // check means always healthy.
    MetricsServer(const Metrics& metrics, HealthCheck health = {});
    ~MetricsServer();  // stops
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds and starts serving on the server's thread. An address that cannot be parsed,
    // is not allowed or cannot be bound (in use, no permission) is an error value.
    // Starting a running server moves it, so a reload can; an address that is not valid,
    // not allowed or cannot be bound leaves it running as it was (the error then says
    // "still serving on …").
    std::expected<void, std::string> start(const MetricsServerOptions& options);
    // Closes the listener and every open connection and joins the thread; returns
    // promptly whatever clients are doing. Does nothing when not running.
    void stop();

    bool running() const { return impl_ != nullptr; }
    std::uint16_t port() const;  // the bound port (useful with port 0); 0 when not running

private:
    struct Impl;
    const Metrics& metrics_;
    HealthCheck health_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace actiondrop::observe
