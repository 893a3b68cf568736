#include "twilio_sim/callbacks.hpp"

#include "twilio/form.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace tollgate::twilio_sim {
namespace {

constexpr std::chrono::seconds kAttemptTimeout{5};

std::string headerValue(const net::Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return "";
}

}  // namespace

WebhookReply WebhookSender::postOnce(const Webhook& hook) {
  net::HttpRequest request{
      .method = "POST",
      .url = hook.url,
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"User-Agent", "TwilioProxy/1.1"},
                  {"X-Twilio-Signature",
                   twilio::computeSignature(hook.auth_token, hook.url, hook.params)}},
      .body = twilio::formEncode(hook.params),
      .deadline = std::chrono::steady_clock::now() + kAttemptTimeout};
  if (!hook.idempotency_token.empty()) {
    request.headers.emplace_back("I-Twilio-Idempotency-Token", hook.idempotency_token);
  }
  net::HttpResponse response = client_.send(request);
  return WebhookReply{.status = response.status,
                      .content_type = headerValue(response.headers, "Content-Type"),
                      .body = std::move(response.body)};
}

void WebhookSender::post(Webhook hook, std::function<void(bool delivered)> done) {
  auto shared = std::make_shared<const Webhook>(std::move(hook));
  queue_.after(std::chrono::milliseconds(0),
               [this, shared, done = std::move(done)]() mutable { attempt(shared, 1, done); });
}

void WebhookSender::attempt(std::shared_ptr<const Webhook> hook, int number,
                            std::function<void(bool)> done) {
  std::string why;
  try {
    const WebhookReply reply = postOnce(*hook);
    if (reply.status >= 200 && reply.status < 300) {
      ++sent_;
      done(true);
      return;
    }
    why = "answered " + std::to_string(reply.status);
  } catch (const std::exception& e) {  // net::HttpError mostly
    why = e.what();
  }
  if (number >= retry_.attempts) {
    ++failed_;
    spdlog::warn("callback to {} dropped after {} attempts: {}", hook->url, number, why);
    done(false);
    return;
  }
  const auto backoff = retry_.backoff * (1 << (number - 1));
  spdlog::info("callback to {} failed (attempt {}): {}; retrying in {} ms", hook->url, number, why,
               backoff.count());
  queue_.after(backoff, [this, hook, number, done = std::move(done)]() mutable {
    attempt(hook, number + 1, done);
  });
}

}  // namespace tollgate::twilio_sim
