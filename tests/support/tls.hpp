// Test support for TLS: a throwaway PKI made with the openssl CLI at test time, and an HTTPS
// (or plain TCP) server on loopback that records what reaches it.
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "support/daemon.hpp"

namespace tollgate::testing {

// ca.pem signs localhost.pem (DNS:localhost, IP:127.0.0.1) and evil.pem (DNS:evil.example);
// selfsigned.pem (DNS:localhost, IP:127.0.0.1) is signed by nobody anyone trusts. Each has
// its .key beside it.
struct TestPki {
  fs::path dir;
  fs::path ca() const { return dir / "ca.pem"; }
  fs::path cert(const std::string& name) const { return dir / (name + ".pem"); }
  fs::path key(const std::string& name) const { return dir / (name + ".key"); }

  explicit TestPki(const fs::path& d) : dir(d) {
    fs::create_directories(dir);
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=Tollgate Test CA", "-keyout", key("ca").string(), "-out",
             ca().string()});
    leaf("localhost", "DNS:localhost,IP:127.0.0.1");
    leaf("evil", "DNS:evil.example");
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "2", "-subj", "/CN=localhost", "-addext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key("selfsigned").string(),
             "-out", cert("selfsigned").string()});
  }

 private:
  void leaf(const std::string& name, const std::string& san) {
    const fs::path csr = dir / (name + ".csr"), ext = dir / (name + ".ext");
    std::ofstream(ext) << "subjectAltName=" << san << "\nbasicConstraints=CA:FALSE\n";
    openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
             "/CN=" + name, "-keyout", key(name).string(), "-out", csr.string()});
    openssl({"x509", "-req", "-in", csr.string(), "-CA", ca().string(), "-CAkey",
             key("ca").string(), "-CAcreateserial", "-days", "2", "-extfile", ext.string(), "-out",
             cert(name).string()});
  }
  void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    const Ran r = run(args, dir / "openssl");
    if (r.code != 0) throw std::runtime_error("openssl failed: " + r.err);
  }
};

// What one request brought.
struct Received {
  std::string method, path, authorization, body;
};

// An HTTPS server on 127.0.0.1 presenting `cert`; answers every request 200 with `answer`.
class TlsServer {
 public:
  TlsServer(const TestPki& pki, const std::string& cert, std::string answer = "{}")
      : state_(std::make_shared<State>()),
        // Built here: a default SecureServerSocket would ask SSLManager for a server context.
        socket_(
            Poco::Net::SocketAddress("127.0.0.1", 0), 64,
            new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, pki.key(cert).string(),
                                   pki.cert(cert).string(), "", Poco::Net::Context::VERIFY_NONE)) {
    state_->answer = std::move(answer);
    port_ = socket_.address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(state_), socket_,
                                                      new Poco::Net::HTTPServerParams);
    server_->start();
  }
  ~TlsServer() { server_->stop(); }
  uint16_t port() const { return port_; }
  std::vector<Received> received() {
    std::lock_guard lock(state_->mu);
    return state_->got;
  }
  bool waitFor(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(state_->mu);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->got.size() >= n; });
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Received> got;
    std::string answer;
  };
  struct Factory : Poco::Net::HTTPRequestHandlerFactory {
    std::shared_ptr<State> s;
    explicit Factory(std::shared_ptr<State> st) : s(std::move(st)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      struct H : Poco::Net::HTTPRequestHandler {
        std::shared_ptr<State> s;
        explicit H(std::shared_ptr<State> st) : s(std::move(st)) {}
        void handleRequest(Poco::Net::HTTPServerRequest& req,
                           Poco::Net::HTTPServerResponse& resp) override {
          Received r{req.getMethod(), req.getURI(), req.get("Authorization", ""), ""};
          Poco::StreamCopier::copyToString(req.stream(), r.body);
          {
            std::lock_guard lock(s->mu);
            s->got.push_back(std::move(r));
          }
          s->cv.notify_all();
          resp.setContentType("application/json");
          resp.sendBuffer(s->answer.data(), s->answer.size());
        }
      };
      return new H(s);
    }
  };
  std::shared_ptr<State> state_;
  Poco::Net::SecureServerSocket socket_;
  uint16_t port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
};

// A TCP listener on 127.0.0.1 that keeps the first bytes of the first connection and closes
// it: shows what a client sends before any TLS handshake could have succeeded.
class RawListener {
 public:
  RawListener() : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    port_ = socket_.address().port();
    thread_ = std::thread([this] {
      try {
        while (!stop_ && !socket_.poll(Poco::Timespan(0, 100000), Poco::Net::Socket::SELECT_READ)) {
        }
        if (stop_) return;
        Poco::Net::StreamSocket c = socket_.acceptConnection();
        c.setReceiveTimeout(Poco::Timespan(2, 0));
        char buf[4096];
        for (;;) {
          const int n = c.receiveBytes(buf, sizeof buf);
          if (n <= 0) break;
          std::lock_guard lock(mu_);
          bytes_.append(buf, static_cast<size_t>(n));
        }
      } catch (const Poco::Exception&) {  // the receive timeout ends the capture
      }
    });
  }
  ~RawListener() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string bytes() {
    std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  Poco::Net::ServerSocket socket_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string bytes_;
  std::atomic<bool> stop_ = false;
};

}  // namespace tollgate::testing
