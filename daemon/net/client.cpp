#include "net/client.hpp"

#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <fmt/format.h>

#include <mutex>
#include <stdexcept>

namespace tollgate::net {
namespace {

std::mutex mu;
Poco::Net::Context::Ptr process_context;  // guarded by mu

// OpenSSL's verify callback runs in the connecting thread; Poco's exception then says only
// "certificate verify failed", so the reason is kept here for describeError().
thread_local std::string last_refusal;

class RejectAndRemember : public Poco::Net::RejectCertificateHandler {
 public:
  RejectAndRemember() : RejectCertificateHandler(false) {}
  void onInvalidCertificate(const void*, Poco::Net::VerificationErrorArgs& args) override {
    last_refusal = fmt::format("{} (certificate '{}', chain position {})", args.errorMessage(),
                               args.certificate().subjectName(), args.errorDepth());
    args.setIgnoreError(false);
  }
};

}  // namespace

Poco::Net::Context::Ptr makeTlsClientContext(const std::filesystem::path& extra_ca_file) {
  Poco::Net::Context::Params p;
  p.caLocation = extra_ca_file.string();
  p.loadDefaultCAs = true;
  // STRICT, not RELAXED: Poco skips the host name check for loopback peers unless the mode is
  // VERIFY_STRICT (for a client, STRICT otherwise means the same as RELAXED).
  p.verificationMode = Poco::Net::Context::VERIFY_STRICT;
  p.cipherList = "HIGH:!aNULL:!MD5:!RC4";
  Poco::Net::Context::Ptr ctx;
  try {
    ctx = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, p);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error(
        extra_ca_file.empty() ? fmt::format("cannot load the system CA store: {}", e.displayText())
                              : fmt::format("cannot load CA file {} (want PEM certificates): {}",
                                            extra_ca_file.string(), e.displayText()));
  }
  ctx->enableExtendedCertificateVerification(true);  // the host name check
  ctx->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
  ctx->setInvalidCertificateHandler(new RejectAndRemember);
  return ctx;
}

void initTlsClient(const std::filesystem::path& extra_ca_file) {
  auto ctx = makeTlsClientContext(extra_ca_file);
  std::lock_guard lock(mu);
  process_context = ctx;
  // Whatever still reaches Poco's defaults (HTTPSClientSession(host, port), HTTPSStreamFactory)
  // gets this context and a rejecting handler, never the console prompt.
  Poco::Net::SSLManager::instance().initializeClient(nullptr, new RejectAndRemember, ctx);
}

Poco::Net::Context::Ptr tlsClientContext() {
  {
    std::lock_guard lock(mu);
    if (process_context) return process_context;
  }
  initTlsClient();
  std::lock_guard lock(mu);
  return process_context;
}

std::unique_ptr<Poco::Net::HTTPClientSession> makeSession(const Poco::URI& uri,
                                                          Poco::Net::Context::Ptr tls) {
  last_refusal.clear();
  if (uri.getHost().empty()) {
    throw std::invalid_argument(fmt::format("'{}' has no host", uri.toString()));
  }
  if (uri.getScheme() == "https") {
    return std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                           tls ? tls : tlsClientContext());
  }
  if (uri.getScheme() == "http") {
    return std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
  }
  throw std::invalid_argument(
      fmt::format("'{}': scheme '{}' is not supported, use https:// or http://", uri.toString(),
                  uri.getScheme()));
}

std::string describeError(const Poco::Exception& e) {
  std::string out = e.displayText();
  if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) != nullptr) {
    out += " (the certificate does not name this host)";
  } else if (dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr && !last_refusal.empty()) {
    out += ": " + last_refusal;
  }
  last_refusal.clear();
  return out;
}

}  // namespace tollgate::net
