#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <string>
#include <utility>  // before Asio: boost/asio/awaitable.hpp needs it on g++ 12

#include "observe/metrics_http.hpp"

namespace asio = boost::asio;
using actiondrop::observe::Metrics;
using actiondrop::observe::MetricsServer;
using actiondrop::observe::MetricsServerOptions;
using actiondrop::observe::parse_listen_address;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Sends `request` as raw bytes to 127.0.0.1:port and returns all the server sends back
// until it closes; gives up (and fails the test) after a few seconds instead of hanging.
std::string round_trip(std::uint16_t port, const std::string& request,
                       std::chrono::milliseconds limit = 5s) {
    asio::io_context io;
    tcp::socket socket(io);
    std::string reply;
    bool closed = false;
    socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](auto ec) {
        REQUIRE_FALSE(ec);
        asio::async_write(socket, asio::buffer(request), [&](auto write_error, std::size_t) {
            REQUIRE_FALSE(write_error);
            asio::async_read(socket, asio::dynamic_buffer(reply),
                             [&](auto, std::size_t) { closed = true; });
        });
    });
    io.run_for(limit);
    CHECK_MESSAGE(closed, "the server did not close the connection in time");
    return reply;
}

std::string get(std::uint16_t port, const std::string& target) {
    return round_trip(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

std::string status_line(const std::string& reply) { return reply.substr(0, reply.find("\r\n")); }

std::string body(const std::string& reply) {
    auto blank = reply.find("\r\n\r\n");
    return blank == std::string::npos ? std::string() : reply.substr(blank + 4);
}

MetricsServerOptions on_free_port() {
    MetricsServerOptions options;
    options.listen = "127.0.0.1:0";
    return options;
}

}  // namespace

TEST_CASE("metrics http: listen addresses are loopback IP literals with a port") {
    auto v4 = parse_listen_address("127.0.0.1:9464");
    REQUIRE(v4);
    CHECK(v4->host == "127.0.0.1");
    CHECK(v4->port == 9464);
    auto v6 = parse_listen_address("[::1]:0");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 0);
    auto named = parse_listen_address("localhost:9100");
    REQUIRE(named);
    CHECK(named->host == "127.0.0.1");
    CHECK(parse_listen_address("127.0.0.2:9464").has_value());

    for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "127.0.0.1:65536", "::1:9464",
                            "[::1]9464", "metrics.example:9464", ":9464"}) {
        CAPTURE(bad);
        auto parsed = parse_listen_address(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().find(bad) != std::string::npos);
    }
}

TEST_CASE("metrics http: a non-loopback address is refused unless allowed") {
    for (const char* open : {"0.0.0.0:9464", "[::]:9464", "192.0.2.10:9464"}) {
        CAPTURE(open);
        auto refused = parse_listen_address(open);
        REQUIRE_FALSE(refused);
        CHECK(refused.error().find("not a loopback address") != std::string::npos);
        CHECK(refused.error().find("no authentication") != std::string::npos);
        CHECK(parse_listen_address(open, true).has_value());
    }

    Metrics metrics;
    MetricsServer server(metrics);
    MetricsServerOptions options;
    options.listen = "0.0.0.0:0";
    auto started = server.start(options);
    REQUIRE_FALSE(started);
    CHECK(started.error().find("not a loopback address") != std::string::npos);
    CHECK_FALSE(server.running());
    CHECK(server.port() == 0);
}

TEST_CASE("metrics http: GET /metrics answers the exposition text") {
    Metrics metrics;
    metrics.file_claimed("acme");
    MetricsServer server(metrics);
    REQUIRE(server.start(on_free_port()));
    REQUIRE(server.port() != 0);

    std::string reply = get(server.port(), "/metrics");
    CHECK(status_line(reply) == "HTTP/1.1 200 OK");
    CHECK(reply.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") !=
          std::string::npos);
    CHECK(reply.find("Connection: close\r\n") != std::string::npos);
    CHECK(body(reply) == metrics.render());
    CHECK(body(reply).find("actiondrop_files_claimed_total{inbox=\"acme\"} 1\n") !=
          std::string::npos);

    // Each scrape sees the counts of that moment; a query string is ignored.
    metrics.file_claimed("acme");
    CHECK(body(get(server.port(), "/metrics?x=1"))
              .find("actiondrop_files_claimed_total{inbox=\"acme\"} 2\n") != std::string::npos);
}

TEST_CASE("metrics http: /healthz is 200 while healthy, else 503 with the reason") {
    Metrics metrics;
    std::atomic<bool> healthy{true};
    MetricsServer server(metrics, [&]() -> std::expected<void, std::string> {
        if (healthy) return {};
        return std::unexpected(std::string("store unreachable"));
    });
    REQUIRE(server.start(on_free_port()));

    std::string ok = get(server.port(), "/healthz");
    CHECK(status_line(ok) == "HTTP/1.1 200 OK");
    CHECK(body(ok) == "ok\n");

    healthy = false;
    std::string down = get(server.port(), "/healthz");
    CHECK(status_line(down) == "HTTP/1.1 503 Service Unavailable");
    CHECK(body(down) == "store unreachable\n");
}

TEST_CASE("metrics http: a health check that throws answers 503, not a dead endpoint") {
    Metrics metrics;
    MetricsServer server(
        metrics, []() -> std::expected<void, std::string> { throw std::runtime_error("boom"); });
    REQUIRE(server.start(on_free_port()));
    std::string reply = get(server.port(), "/healthz");
    CHECK(status_line(reply) == "HTTP/1.1 503 Service Unavailable");
    CHECK(body(reply) == "the health check failed: boom\n");
    CHECK(status_line(get(server.port(), "/metrics")) == "HTTP/1.1 200 OK");
}

TEST_CASE("metrics http: HEAD answers as GET would, without the body") {
    // Load balancers and uptime checks often probe with HEAD.
    Metrics metrics;
    metrics.file_claimed("acme");
    std::atomic<bool> healthy{true};
    MetricsServer server(metrics, [&]() -> std::expected<void, std::string> {
        if (healthy) return {};
        return std::unexpected(std::string("store unreachable"));
    });
    REQUIRE(server.start(on_free_port()));
    const auto head = [&](const std::string& target) {
        return round_trip(server.port(), "HEAD " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    };

    std::string ok = head("/healthz");
    CHECK(status_line(ok) == "HTTP/1.1 200 OK");
    CHECK(ok.find("Content-Length: 3\r\n") != std::string::npos);
    CHECK(ok.ends_with("\r\n\r\n"));  // no body
    healthy = false;
    std::string down = head("/healthz");
    CHECK(status_line(down) == "HTTP/1.1 503 Service Unavailable");
    CHECK(down.ends_with("\r\n\r\n"));

    std::string scrape = head("/metrics");
    CHECK(status_line(scrape) == "HTTP/1.1 200 OK");
    CHECK(scrape.find(fmt::format("Content-Length: {}\r\n", metrics.render().size())) !=
          std::string::npos);
    CHECK(scrape.ends_with("\r\n\r\n"));
    CHECK(status_line(head("/")) == "HTTP/1.1 404 Not Found");
}

TEST_CASE("metrics http: unknown paths are 404, other methods 405") {
    Metrics metrics;
    MetricsServer server(metrics);
    REQUIRE(server.start(on_free_port()));

    CHECK(status_line(get(server.port(), "/")) == "HTTP/1.1 404 Not Found");
    CHECK(status_line(get(server.port(), "/metrics/extra")) == "HTTP/1.1 404 Not Found");

    std::string post = round_trip(server.port(),
                                  "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Content-Length: 3\r\n\r\nabc");
    CHECK(status_line(post) == "HTTP/1.1 405 Method Not Allowed");
    CHECK(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
    CHECK(status_line(round_trip(server.port(), "DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) ==
          "HTTP/1.1 405 Method Not Allowed");
}

TEST_CASE("metrics http: oversized and malformed requests are refused") {
    Metrics metrics;
    MetricsServer server(metrics);
    auto options = on_free_port();
    options.max_request_bytes = 1024;
    REQUIRE(server.start(options));

    std::string huge =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'a') + "\r\n\r\n";
    CHECK(status_line(round_trip(server.port(), huge)) ==
          "HTTP/1.1 431 Request Header Fields Too Large");

    std::string big_body =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b');
    CHECK(status_line(round_trip(server.port(), big_body)) == "HTTP/1.1 413 Payload Too Large");

    CHECK(status_line(round_trip(server.port(), "HELLO\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    // Still serving after all that.
    CHECK(status_line(get(server.port(), "/metrics")) == "HTTP/1.1 200 OK");
}

TEST_CASE("metrics http: a client that sends nothing is cut off after the time limit") {
    Metrics metrics;
    MetricsServer server(metrics);
    auto options = on_free_port();
    options.request_timeout = 200ms;
    REQUIRE(server.start(options));

    auto began = std::chrono::steady_clock::now();
    std::string reply = round_trip(server.port(), "GET /metr", 5s);
    CHECK(reply.empty());
    CHECK(std::chrono::steady_clock::now() - began < 3s);
}

TEST_CASE("metrics http: stop() returns promptly with idle clients connected") {
    Metrics metrics;
    MetricsServer server(metrics);
    REQUIRE(server.start(on_free_port()));
    std::uint16_t port = server.port();

    asio::io_context io;
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 3; ++i) {
        idle.emplace_back(io);
        idle.back().connect({asio::ip::make_address("127.0.0.1"), port});
        asio::write(idle.back(), asio::buffer(std::string("GET /met")));
    }

    auto began = std::chrono::steady_clock::now();
    server.stop();
    CHECK(std::chrono::steady_clock::now() - began < 1s);
    CHECK_FALSE(server.running());
    CHECK(server.port() == 0);

    // The listener is gone: a new connection is refused.
    tcp::socket late(io);
    boost::system::error_code ec;
    late.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    CHECK(ec);

    server.stop();  // twice is harmless
}

TEST_CASE("metrics http: a server can be started again, and a port in use is an error") {
    Metrics metrics;
    MetricsServer first(metrics);
    REQUIRE(first.start(on_free_port()));
    std::uint16_t port = first.port();

    MetricsServer second(metrics);
    MetricsServerOptions same;
    same.listen = "127.0.0.1:" + std::to_string(port);
    auto clash = second.start(same);
    REQUIRE_FALSE(clash);
    CHECK(clash.error().find("cannot listen on 127.0.0.1:" + std::to_string(port)) !=
          std::string::npos);

    // A reload with a refused address keeps the endpoint where it was.
    MetricsServerOptions open;
    open.listen = "0.0.0.0:0";
    REQUIRE_FALSE(first.start(open));
    CHECK(first.port() == port);
    CHECK(status_line(get(port, "/metrics")) == "HTTP/1.1 200 OK");

    // A reload restarts on the same port at once (SO_REUSEADDR).
    REQUIRE(first.start(same));
    CHECK(first.port() == port);
    CHECK(status_line(get(port, "/healthz")) == "HTTP/1.1 200 OK");

    // A reload onto a port another program holds keeps the endpoint where it was too.
    REQUIRE(second.start(on_free_port()));
    MetricsServerOptions busy;
    busy.listen = "127.0.0.1:" + std::to_string(second.port());
    auto refused = first.start(busy);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().find("still serving on " + same.listen) != std::string::npos);
    CHECK(first.port() == port);
    CHECK(status_line(get(port, "/metrics")) == "HTTP/1.1 200 OK");
}
