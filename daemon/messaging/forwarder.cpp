#include "messaging/forwarder.hpp"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <thread>

namespace tollgate::messaging {
namespace {

int postOnce(const Forward& f) {
  const Poco::URI uri(f.url);
  std::unique_ptr<Poco::Net::HTTPClientSession> session;
  if (uri.getScheme() == "https") {
    session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort());
  } else {
    session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
  }
  session->setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_POST, uri.getPathAndQuery(),
                             Poco::Net::HTTPMessage::HTTP_1_1);
  req.setContentType("application/json");
  req.setContentLength(static_cast<std::streamsize>(f.json.size()));
  req.set("X-Request-Id", f.request_id);
  session->sendRequest(req) << f.json;
  Poco::Net::HTTPResponse resp;
  session->receiveResponse(resp).ignore(std::numeric_limits<std::streamsize>::max());
  return resp.getStatus();
}

}  // namespace

void Forwarder::post(Forward f) {
  pool_.post([f = std::move(f)] {
    for (int attempt = 1; attempt <= 3; ++attempt) {
      try {
        const int status = postOnce(f);
        if (status >= 200 && status < 300) return;
        spdlog::warn("{}: forward to {} answered {} (attempt {})", f.request_id, f.url, status,
                     attempt);
        if (status < 500) return;  // the tenant's endpoint refuses it; retrying will not help
      } catch (const std::exception& e) {
        spdlog::warn("{}: forward to {} failed (attempt {}): {}", f.request_id, f.url, attempt,
                     e.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500 * attempt));
    }
    spdlog::error("{}: gave up forwarding to {}", f.request_id, f.url);
  });
}

}  // namespace tollgate::messaging
