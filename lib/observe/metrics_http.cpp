#include "observe/metrics_http.hpp"

#include <fmt/format.h>

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <thread>
#include <utility>  // before Asio: boost/asio/awaitable.hpp needs it on g++ 12

namespace actiondrop::observe {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text,
                                                               bool allow_non_loopback) {
    auto bad = [&](std::string_view why) {
        return std::unexpected(fmt::format("metrics listen address \"{}\": {}", text, why));
    };
    std::string_view host, port_text;
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close == std::string_view::npos || text.substr(close + 1, 1) != ":") {
            return bad("expected [IPv6]:PORT");
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return bad("expected HOST:PORT");
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return bad("write an IPv6 address in brackets, as [::1]:9464");
        }
    }
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc{} || end != port_text.data() + port_text.size() ||
        port > 65535) {
        return bad("the port must be a number from 0 to 65535");
    }
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code parse_error;
    auto address = asio::ip::make_address(std::string(host), parse_error);
    if (parse_error) return bad("the host must be an IP address (names are not resolved)");
    // lib/config/service_config.cpp (listen_problem) refuses the same addresses in the
    // config, so that --check-config says what a start would.
    if (!address.is_loopback() && !allow_non_loopback) {
        return bad(
            "not a loopback address; /metrics and /healthz have no authentication, so they "
            "are served on 127.0.0.0/8 or ::1 only");
    }
    return ListenAddress{address.to_string(), static_cast<std::uint16_t>(port)};
}

namespace {

// What every connection shares; lives as long as the server's io_context.
struct Shared {
    const Metrics& metrics;
    const HealthCheck& health;
    MetricsServerOptions options;
    std::size_t open_connections = 0;
};

using Response = http::response<http::string_body>;

Response text_response(http::status status, std::string body) {
    Response response{status, 11};
    response.set(http::field::server, "actiondropd");
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.keep_alive(false);
    response.body() = std::move(body);
    return response;
}

Response answer(const http::request<http::string_body>& request, const Shared& shared) {
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
        auto response = text_response(http::status::method_not_allowed, "only GET or HEAD\n");
        response.set(http::field::allow, "GET, HEAD");
        return response;
    }
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));  // Prometheus may add query parameters
    if (target == "/metrics") {
        auto response = text_response(http::status::ok, shared.metrics.render());
        response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        return response;
    }
    if (target == "/healthz") {
        std::expected<void, std::string> health;
        try {
            if (shared.health) health = shared.health();
        } catch (const std::exception& e) {
            health = std::unexpected(std::string("the health check failed: ") + e.what());
        }
        if (health) return text_response(http::status::ok, "ok\n");
        return text_response(http::status::service_unavailable, health.error() + "\n");
    }
    return text_response(http::status::not_found, "not found; try /metrics or /healthz\n");
}

// One connection: read one request within the time limit, answer, close.
class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(tcp::socket socket, Shared& shared)
        : stream_(std::move(socket)),
          shared_(shared),
          buffer_(2 * shared.options.max_request_bytes) {
        ++shared_.open_connections;
    }
    ~Connection() { --shared_.open_connections; }

    void read() {
        parser_.header_limit(static_cast<std::uint32_t>(shared_.options.max_request_bytes));
        parser_.body_limit(shared_.options.max_request_bytes);
        stream_.expires_after(shared_.options.request_timeout);
        http::async_read(
            stream_, buffer_, parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

private:
    void on_read(beast::error_code ec) {
        if (!ec) return write(answer(parser_.get(), shared_), parser_.get().method());
        if (ec == http::error::header_limit) {
            return write(text_response(http::status::request_header_fields_too_large,
                                       "request headers too large\n"));
        }
        if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
            return write(text_response(http::status::payload_too_large, "request too large\n"));
        }
        if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
            return write(text_response(http::status::bad_request, "bad request\n"));
        }
        stream_.close();  // the client left, or timed out
    }

    // A HEAD is answered as its GET would be (a load balancer's probe, an uptime check),
    // with the GET's length and no body.
    void write(Response response, http::verb method = http::verb::get) {
        response_ = std::move(response);
        response_.prepare_payload();
        if (method == http::verb::head) response_.body().clear();
        http::async_write(stream_, response_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->stream_.close();
                              self->linger();
                          });
    }

    // Half-closes, then reads until the client closes: closing with unread bytes
    // would send a reset that can destroy the answer before the client reads it.
    void linger() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::min<std::chrono::milliseconds>(shared_.options.request_timeout,
                                                                  std::chrono::seconds(1)));
        drain();
    }
    void drain() {
        stream_.async_read_some(asio::buffer(scratch_),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->stream_.close();
                                    self->drain();
                                });
    }

    beast::tcp_stream stream_;
    Shared& shared_;
    beast::flat_buffer buffer_;
    http::request_parser<http::string_body> parser_;  // a body is read (and ignored) to answer 405
    Response response_;
    std::array<char, 1024> scratch_{};
};

}  // namespace

struct MetricsServer::Impl {
    explicit Impl(Shared s) : shared(std::move(s)) {}

    Shared shared;  // before the io_context: pending handlers refer to it while it dies
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    asio::steady_timer pause{io};
    std::uint16_t port = 0;
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (ec) {
                // Out of descriptors, say: wait a little rather than spin on the error.
                pause.expires_after(std::chrono::milliseconds(100));
                pause.async_wait([this](beast::error_code wait_error) {
                    if (!wait_error) accept();
                });
                return;
            }
            if (shared.open_connections < shared.options.max_connections) {
                std::make_shared<Connection>(std::move(socket), shared)->read();
            }
            accept();
        });
    }

    void run() {
        for (;;) {
            try {
                io.run();
                return;
            } catch (const std::exception&) {
                // One failed answer (out of memory, say) must not end the endpoint.
            }
        }
    }
};

MetricsServer::MetricsServer(const Metrics& metrics, HealthCheck health)
    : metrics_(metrics), health_(std::move(health)) {}

MetricsServer::~MetricsServer() { stop(); }

std::expected<void, std::string> MetricsServer::start(const MetricsServerOptions& options) {
    auto address = parse_listen_address(options.listen, options.allow_non_loopback);
    if (!address) return std::unexpected(address.error());

    // The new listener first, so that a reload onto an address that cannot be had keeps the
    // endpoint serving where it was. Only when the running server may hold that very port
    // (the same port, under the same name or another) is it stopped before a second try,
    // and started again where it was if that fails too.
    // An acceptor bound and listening, not yet serving; the error of the step that failed.
    const auto listen_on = [](Impl& impl, const ListenAddress& at) {
        tcp::endpoint endpoint(asio::ip::make_address(at.host), at.port);
        boost::system::error_code ec;
        impl.acceptor.open(endpoint.protocol(), ec);
        if (!ec) impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
        if (!ec) impl.acceptor.bind(endpoint, ec);
        if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (!ec) impl.port = impl.acceptor.local_endpoint(ec).port();
        return ec;
    };
    auto impl = std::make_unique<Impl>(Shared{metrics_, health_, options});
    auto ec = listen_on(*impl, *address);
    if (ec == boost::asio::error::address_in_use && impl_ && impl_->port == address->port) {
        const MetricsServerOptions before = impl_->shared.options;
        stop();
        impl = std::make_unique<Impl>(Shared{metrics_, health_, options});
        ec = listen_on(*impl, *address);
        if (ec) {
            const std::string failed =
                fmt::format("cannot listen on {} for metrics: {}", options.listen, ec.message());
            if (start(before))
                return std::unexpected(failed + "; still serving on " + before.listen);
            return std::unexpected(failed);
        }
    }
    if (ec) {
        std::string failed =
            fmt::format("cannot listen on {} for metrics: {}", options.listen, ec.message());
        if (impl_) failed += "; still serving on " + impl_->shared.options.listen;
        return std::unexpected(failed);
    }
    stop();
    impl->accept();
    impl->thread = std::thread([raw = impl.get()] { raw->run(); });
    impl_ = std::move(impl);
    return {};
}

void MetricsServer::stop() {
    if (!impl_) return;
    impl_->io.stop();
    impl_->thread.join();
    impl_.reset();  // closes the listener and every connection with the io_context
}

std::uint16_t MetricsServer::port() const { return impl_ ? impl_->port : 0; }

}  // namespace actiondrop::observe
