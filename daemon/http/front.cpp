#include "http/front.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace tollgate::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kHeaderLimit = 16 * 1024;
// How long, and for how many bytes, a closing connection reads what its client still sends.
constexpr std::chrono::seconds kLinger{2};
constexpr size_t kLingerBytes = 2 * 1024 * 1024;

class Session;

}  // namespace

struct Front::Impl {
  Impl(Router& r, const FrontOptions& opts)
      : router(r), o(opts), workers(opts.workers), guard(net::make_work_guard(io)) {}

  bool admit(const std::string& peer) {
    std::lock_guard lock(mu);
    size_t& mine = per_ip[peer];
    if (stopping || open >= o.max_connections || mine >= o.max_connections_per_ip) {
      if (mine == 0) per_ip.erase(peer);
      refused.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    ++mine;
    ++open;
    return true;
  }
  void leave(Session* s, const std::string& peer) {
    std::lock_guard lock(mu);
    if (auto it = per_ip.find(peer); it != per_ip.end() && --it->second == 0) per_ip.erase(it);
    --open;
    sessions.erase(s);
    drained.notify_all();
  }
  void accept();

  Router& router;
  FrontOptions o;
  // Declared before the I/O objects, so that they outlive the sessions that the io_context
  // still holds when it is destroyed (a session leaves through them).
  mutable std::mutex mu;
  std::condition_variable drained;
  std::map<std::string, size_t> per_ip;
  std::map<Session*, std::weak_ptr<Session>> sessions;
  size_t open = 0;
  bool stopping = false;
  std::atomic<uint64_t> refused{0};

  net::io_context io;
  tcp::acceptor acceptor{io};
  net::steady_timer backoff{io};
  net::thread_pool workers;
  net::executor_work_guard<net::io_context::executor_type> guard;
  std::vector<std::thread> loops;
};

namespace {

// One connection: reads a request whole under its deadlines, hands it to a worker, writes the
// answer, and waits for the next one while kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Front::Impl& f, tcp::socket socket, std::string peer)
      : f_(f), stream_(std::move(socket)), peer_(std::move(peer)) {}
  ~Session() { f_.leave(this, peer_); }

  void start() { read(f_.o.header_timeout); }

  // From stop(): closes the connection unless a request is being served.
  void closeIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->stream_.close();
    });
  }

 private:
  void read(std::chrono::milliseconds limit) {
    busy_ = false;
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(Request::kMaxBody);
    stream_.expires_after(limit);
    bhttp::async_read_header(
        stream_, buf_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec) return fail(ec);
    busy_ = true;
    const auto& h = parser_->get();
    in_ = Incoming{.method = std::string(h.method_string()),
                   .target = std::string(h.target()),
                   .peer = peer_,
                   .headers = {},
                   .body = {}};
    for (const auto& field : h) {
      in_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    if (auto why = ambiguousFraming(in_.headers)) {
      return answer(Response::error(400, "bad_request", *why), requestIdFor(""), true);
    }
    if (beast::iequals(h[bhttp::field::expect], "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(f_.o.body_timeout);
      return net::async_write(stream_, net::buffer(kContinue),
                              [self = shared_from_this()](beast::error_code e, size_t) {
                                if (e) return self->fail(e);
                                self->readBody();
                              });
    }
    readBody();
  }

  void readBody() {
    stream_.expires_after(f_.o.body_timeout);
    bhttp::async_read(
        stream_, buf_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onBody(ec); });
  }

  void onBody(beast::error_code ec) {
    if (ec) return fail(ec);
    in_.body = std::move(parser_->get().body());
    keep_alive_ = parser_->keep_alive() && ++served_ < f_.o.keepalive_requests;
    // The router may block (plugins, storage): never on the event loop.
    net::post(f_.workers, [self = shared_from_this()] {
      const std::string id = requestIdFor(header("X-Request-Id", self->in_));
      Response r;
      try {
        r = self->f_.router.dispatch(self->in_, id);
      } catch (const std::exception& e) {
        spdlog::error("{} {}: {}", id, self->in_.method, e.what());
        r = Response::error(500, "internal", "internal error; see the daemon log for " + id);
      }
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r), id]() mutable { self->answer(std::move(r), id, false); });
    });
  }

  static std::string header(std::string_view name, const Incoming& in) {
    for (const auto& [k, v] : in.headers) {
      if (beast::iequals(k, beast::string_view(name.data(), name.size()))) return v;
    }
    return {};
  }

  // `early`: answered before the request was read to its end (a malformed or oversized one).
  void answer(Response r, const std::string& id, bool early) {
    if (early) keep_alive_ = false;
    early_ = early;
    {
      std::lock_guard lock(f_.mu);
      if (f_.stopping) keep_alive_ = false;
    }
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set("X-Request-Id", id);
    for (const auto& [k, v] : r.headers) res_.set(k, v);
    if (r.status != 204) {
      res_.set(bhttp::field::content_type, r.content_type);
      res_.body() = std::move(r.body);
    }
    res_.keep_alive(keep_alive_);
    res_.prepare_payload();
    stream_.expires_after(f_.o.body_timeout);
    bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->stream_.close();
      if (!self->keep_alive_) {
        if (self->early_) return self->linger();
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        return self->stream_.close();
      }
      self->read(self->f_.o.keepalive_timeout);
    });
  }

  // Closing with unread bytes queued would reset the connection, and the client could lose the
  // answer it has not read yet: after an early answer, send our end's FIN and read and drop what
  // the client still sends (the body we refused) for a while before closing (RFC 9112 section
  // 9.6). Not after a whole request: a client that sent another one meanwhile would wait for
  // the linger to end instead of seeing the close at once.
  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLinger);
    drain();
  }
  void drain() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerBytes)
                                return self->stream_.close();
                              self->drain();
                            });
  }

  // A read that failed: a malformed request gets its 4xx and the connection closes; a timeout,
  // a reset or the end of the stream just closes it.
  void fail(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return answer(Response::error(413, "payload_too_large",
                                    fmt::format("body exceeds {} bytes", Request::kMaxBody)),
                    requestIdFor(""), true);
    }
    if (ec == bhttp::error::header_limit) {
      return answer(Response::error(431, "header_too_large",
                                    fmt::format("headers exceed {} bytes", kHeaderLimit)),
                    requestIdFor(""), true);
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return answer(Response::error(400, "bad_request", "malformed request: " + ec.message()),
                    requestIdFor(""), true);
    }
    stream_.close();
  }

  Front::Impl& f_;
  beast::tcp_stream stream_;
  std::string peer_;
  beast::flat_buffer buf_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  Incoming in_;
  bool keep_alive_ = false;
  bool busy_ = false;  // between a request's headers and its answer
  bool early_ = false;
  size_t served_ = 0;
  std::array<char, 8192> discard_{};
  size_t lingered_ = 0;
};

}  // namespace

void Front::Impl::accept() {
  acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;  // stopped
    if (ec) {
      // Out of file descriptors, say: try again shortly rather than spin.
      spdlog::warn("http: accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      backoff.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    beast::error_code peer_ec;
    const std::string peer = socket.remote_endpoint(peer_ec).address().to_string();
    if (!peer_ec && admit(peer)) {
      auto session = std::make_shared<Session>(*this, std::move(socket), peer);
      {
        std::lock_guard lock(mu);
        sessions.emplace(session.get(), session);
      }
      session->start();
    }
    accept();
  });
}

Front::Front(Router& router, const FrontOptions& options)
    : impl_(std::make_unique<Impl>(router, options)) {
  beast::error_code ec;
  const auto address = net::ip::make_address(options.host, ec);
  if (ec) throw std::runtime_error(fmt::format("'{}' is not an IP address", options.host));
  const tcp::endpoint endpoint(address, options.port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()));
  }
}

Front::~Front() { stop(std::chrono::milliseconds(0)); }

void Front::start() {
  impl_->accept();
  for (size_t i = 0; i < std::max<size_t>(1, impl_->o.io_threads); ++i) {
    impl_->loops.emplace_back([this] { impl_->io.run(); });
  }
}

void Front::stop(std::chrono::milliseconds grace) {
  Impl& f = *impl_;
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(f.mu);
    if (f.stopping && f.loops.empty()) return;
    f.stopping = true;
    for (auto& [_, weak] : f.sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  net::post(f.io, [&f] {
    beast::error_code ignored;
    f.acceptor.close(ignored);
    f.backoff.cancel();
  });
  for (auto& s : live) s->closeIfIdle();
  live.clear();
  {
    std::unique_lock lock(f.mu);
    f.drained.wait_for(lock, grace, [&] { return f.open == 0; });
  }
  f.guard.reset();
  f.io.stop();
  for (auto& t : f.loops) t.join();
  f.loops.clear();
  f.workers.join();
}

std::string Front::address() const {
  beast::error_code ec;
  const auto e = impl_->acceptor.local_endpoint(ec);
  return fmt::format("{}:{}", e.address().to_string(), e.port());
}

size_t Front::connections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->open;
}

uint64_t Front::refusedConnections() const { return impl_->refused.load(); }

}  // namespace tollgate::http
