#include "twilio_sim/options.hpp"

#include <Poco/Net/IPAddress.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

namespace tollgate::twilio_sim {
namespace {

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(c) != 0; });
}

template <typename T>
T parseNumber(const std::string& flag, const std::string& text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw UsageError(fmt::format("{} '{}': want a number", flag, text));
  }
  return value;
}

double parseShare(const std::string& flag, const std::string& text) {
  const double p = parseNumber<double>(flag, text);
  if (!(p >= 0 && p <= 1)) throw UsageError(fmt::format("{} '{}': want 0 to 1", flag, text));
  return p;
}

void parseListen(const std::string& text, Options& o) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    throw UsageError(fmt::format("--listen '{}': want HOST:PORT, e.g. 127.0.0.1:0", text));
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  Poco::Net::IPAddress ip;
  if (!Poco::Net::IPAddress::tryParse(host, ip)) {
    throw UsageError(fmt::format("--listen '{}': '{}' is not an IP address", text, host));
  }
  o.listen_host = host;
  o.listen_port = parseNumber<uint16_t>("--listen", text.substr(colon + 1));
}

void parseAccount(const std::string& text, Options& o) {
  const size_t colon = text.find(':');
  const std::string sid = text.substr(0, colon);
  if (colon == std::string::npos || sid.size() != 34 || sid.rfind("AC", 0) != 0 ||
      !isHex(std::string_view(sid).substr(2)) || colon + 1 == text.size()) {
    throw UsageError(
        fmt::format("--account '{}': want AC followed by 32 hex digits, a colon and the auth token",
                    sid.substr(0, 40)));
  }
  o.accounts[sid] = text.substr(colon + 1);
}

}  // namespace

Options parseOptions(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw UsageError(fmt::format("{} needs a value", flag));
      return args[++i];
    };
    if (flag == "--listen") {
      parseListen(value(), o);
    } else if (flag == "--port-file") {
      o.port_file = value();
    } else if (flag == "--account") {
      parseAccount(value(), o);
    } else if (flag == "--callback-delay-ms") {
      o.callback_delay_ms = parseNumber<int64_t>(flag, value());
      if (o.callback_delay_ms < 0 || o.callback_delay_ms > 3'600'000) {
        throw UsageError("--callback-delay-ms: want 0 to 3600000");
      }
    } else if (flag == "--callback-backoff-ms") {
      o.callback_backoff_ms = parseNumber<int64_t>(flag, value());
      if (o.callback_backoff_ms < 0 || o.callback_backoff_ms > 600'000) {
        throw UsageError("--callback-backoff-ms: want 0 to 600000");
      }
    } else if (flag == "--callback-threads") {
      o.callback_threads = parseNumber<int64_t>(flag, value());
      if (o.callback_threads < 1 || o.callback_threads > 256) {
        throw UsageError("--callback-threads: want 1 to 256");
      }
    } else if (flag == "--fail-rate") {
      o.fail_rate = parseShare(flag, value());
    } else if (flag == "--rate-limit-rate") {
      o.rate_limit_rate = parseShare(flag, value());
    } else if (flag == "--lost-answer-rate") {
      o.lost_answer_rate = parseShare(flag, value());
    } else if (flag == "--price-micros") {
      o.price_micros = parseNumber<int64_t>(flag, value());
      if (o.price_micros < 0 || o.price_micros > 100'000'000) {
        throw UsageError("--price-micros: want 0 to 100000000");
      }
    } else if (flag == "--call-price-micros") {
      o.call_price_micros = parseNumber<int64_t>(flag, value());
      if (o.call_price_micros < 0 || o.call_price_micros > 100'000'000) {
        throw UsageError("--call-price-micros: want 0 to 100000000");
      }
    } else if (flag == "--price-delay-ms") {
      o.price_delay_ms = parseNumber<int64_t>(flag, value());
      if (o.price_delay_ms < 0 || o.price_delay_ms > 86'400'000) {
        throw UsageError("--price-delay-ms: want 0 to 86400000");
      }
    } else if (flag == "--out-of-order") {
      o.out_of_order = true;
    } else if (flag == "--seed") {
      o.seed = parseNumber<uint64_t>(flag, value());
    } else if (flag == "--allow-remote") {
      o.allow_remote = true;
    } else if (flag == "--log-level") {
      o.log_level = value();
      if (o.log_level != "debug" && o.log_level != "info" && o.log_level != "warn") {
        throw UsageError("--log-level: want debug, info or warn");
      }
    } else {
      throw UsageError(fmt::format("unknown argument '{}' (--help lists the flags)", flag));
    }
  }
  if (o.accounts.empty()) {
    throw UsageError("no --account ACSID:TOKEN given: every request would be refused");
  }
  if (!o.allow_remote && !Poco::Net::IPAddress(o.listen_host).isLoopback()) {
    throw UsageError(fmt::format(
        "--listen {}: not a loopback address; the control endpoints have no authentication "
        "(add --allow-remote if you mean it)",
        o.listen_host));
  }
  return o;
}

std::string usage() {
  return R"(Usage: tollgate-twilio-sim --account ACSID:TOKEN [flags]

Speaks Twilio's REST API (2010-04-01 Messages and Calls) on loopback and posts signed status
callbacks; places inbound messages and calls on request (POST /sim/inbound, /sim/inbound-call).

  --listen HOST:PORT        where to listen (default 127.0.0.1:0, 0 = a free port)
  --port-file FILE          write the bound port to FILE once listening
  --account ACSID:TOKEN     an account it accepts; its token signs its callbacks (repeatable)
  --callback-delay-ms N     delay before each status step (default 50)
  --callback-backoff-ms N   wait before retrying a failed callback, doubled each time; 4
                            attempts in all, then it is dropped (default 200)
  --callback-threads N      status steps and callbacks run at once (default 4)
  --fail-rate P             share 0..1 of messages that end failed (30008) or undelivered (30003)
  --rate-limit-rate P       share 0..1 of message POSTs answered 429 (code 20429, Retry-After: 1)
  --lost-answer-rate P      share 0..1 of messages stored and sent but answered 500 (code 20500)
  --price-micros N          Twilio's price of a segment once final, micro-USD (7900)
  --call-price-micros N     Twilio's price of a started minute of an inbound call that was
                            answered, micro-USD (8500)
  --price-delay-ms N        a price stays null this long after the final status (0)
  --out-of-order            post the final status callback before the `sent` one
  --seed N                  seed of the random choices (default: random, logged)
  --allow-remote            allow a non-loopback --listen address
  --log-level LEVEL         debug, info (default) or warn
  --help                    print this help
)";
}

}  // namespace tollgate::twilio_sim
