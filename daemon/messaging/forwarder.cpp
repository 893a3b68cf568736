#include "messaging/forwarder.hpp"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <stdexcept>
#include <thread>

#include "net/client.hpp"

namespace tollgate::messaging {
namespace {

int postOnce(const Forward& f) {
  const Poco::URI uri(f.url);
  auto session = net::makeSession(uri);
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
      } catch (const std::invalid_argument& e) {  // not a URL we can post to
        spdlog::error("{}: not forwarding: {}", f.request_id, e.what());
        return;
      } catch (const Poco::Exception& e) {  // what() is only the class name, e.g. "SSL Exception"
        spdlog::warn("{}: forward to {} failed (attempt {}): {}", f.request_id, f.url, attempt,
                     net::describeError(e));
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
