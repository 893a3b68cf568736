// Stripe's webhooks (POST /stripe/webhook): the signature checked as Stripe documents it, each
// event acted on once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tollgate::http {
class Router;
}
namespace tollgate {
struct Services;
}

namespace tollgate::billing {

// Checks a Stripe-Signature header ("t=1492774577,v1=5257a8...,v1=...,v0=..."): some v1 value
// must be the HMAC-SHA256, keyed by one of `secrets`, of "<t>.<payload>" (hex), and t within
// `tolerance_s` of `now_s` either way. Every v1 value is tried (Stripe sends one per live secret
// while one is being rolled); v0 and unknown schemes are ignored. Returns "" when it passes,
// else why not (for the log and the 400; never a secret).
std::string checkStripeSignature(std::string_view header, std::string_view payload,
                                 const std::vector<std::string>& secrets, int64_t now_s,
                                 int64_t tolerance_s);

// The signing secrets in a file, one per line ("whsec_..."), blank lines skipped. Throws
// std::runtime_error naming the file if it cannot be read or holds none.
std::vector<std::string> loadStripeSecrets(const std::string& file);

void addStripeWebhookRoutes(http::Router& router, Services& svc);

}  // namespace tollgate::billing
