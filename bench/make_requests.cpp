// bench_make_requests: pre-generates distinct, correctly signed Twilio inbound-SMS webhooks for
// bench/webhook_bench.sh (read by bench/webhook.lua).
//
// Every request has its own MessageSid (a repeated one would be answered from the dedupe record,
// which is not the work being measured), a sender drawn from a few thousand numbers (so opt-out
// look-ups hit many keys), a plain body (never a STOP/START/HELP word), and an
// X-Twilio-Signature computed with the daemon's own tollgate::twilio::computeSignature over the
// full parameter set Twilio posts.
//
// Output: fixed-size records so that each wrk thread can seek straight to its own share.
//   record 0:    "TGBENCH1 <record_size> <count>" padded with spaces, then '\n'
//   record i>=1: "<signature> <form body>" padded with spaces, then '\n'
// The form body is URL-encoded and so contains no space.
//
//   bench_make_requests --out FILE --count N --token TOKEN --url URL --to E164
//                       [--senders 5000] [--record-size 1024] [--seed 1]
#include <Poco/URI.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include "support/twilio_forms.hpp"

namespace {

using tollgate::testing::formEncode;
using tollgate::testing::Params;
using tollgate::testing::smsParams;

// Plain bodies: some hit the number's keywords (HOURS, PRICE), the rest get its default reply.
// None is a STOP/START/HELP word, so no sender is ever opted out.
const char* const kBodies[] = {
    "HOURS",
    "price",
    "Hi, is the clinic open on Saturday?",
    "Can I move my appointment to 3pm tomorrow?",
    "Thanks! See you then.",
    "What's the address again? & do you have parking?",
    "Running 10 min late, sorry",
    "Is Dr. O'Neil in this week?",
};

[[noreturn]] void usage(const char* why) {
  std::cerr << "bench_make_requests: " << why
            << "\nusage: bench_make_requests --out FILE --count N --token TOKEN --url URL --to E164"
               " [--account AC...] [--senders 5000] [--record-size 1024] [--seed 1]\n";
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, token, url, to, account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  long long count = 0, senders = 5000, record_size = 1024, seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--out")
      out = v;
    else if (a == "--count")
      count = std::atoll(v.c_str());
    else if (a == "--token")
      token = v;
    else if (a == "--url")
      url = v;
    else if (a == "--to")
      to = v;
    else if (a == "--account")
      account = v;
    else if (a == "--senders")
      senders = std::atoll(v.c_str());
    else if (a == "--record-size")
      record_size = std::atoll(v.c_str());
    else if (a == "--seed")
      seed = std::atoll(v.c_str());
    else
      usage(("unknown option " + a).c_str());
  }
  if (out.empty() || token.empty() || url.empty() || to.empty()) usage("missing option");
  if (count <= 0 || senders <= 0 || senders > 10000 || record_size < 64) usage("bad number");

  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  if (!f) usage(("cannot write " + out).c_str());
  auto put = [&](std::string rec) {
    if (static_cast<long long>(rec.size()) >= record_size) {
      std::cerr << "bench_make_requests: a record of " << rec.size()
                << " bytes does not fit --record-size " << record_size << "\n";
      std::exit(1);
    }
    rec.resize(static_cast<size_t>(record_size - 1), ' ');
    rec += '\n';
    f.write(rec.data(), static_cast<std::streamsize>(rec.size()));
  };
  put("TGBENCH1 " + std::to_string(record_size) + " " + std::to_string(count));

  std::mt19937_64 rng(static_cast<uint64_t>(seed));
  const uint64_t run = rng();  // distinct SIDs across files made with different seeds
  const size_t n_bodies = sizeof kBodies / sizeof kBodies[0];
  for (long long i = 0; i < count; ++i) {
    char sid[40];
    std::snprintf(sid, sizeof sid, "SM%016llx%016llx", static_cast<unsigned long long>(run),
                  static_cast<unsigned long long>(i));
    char from[20];
    std::snprintf(from, sizeof from, "+1628555%04lld", static_cast<long long>(rng() % senders));
    const Params p = smsParams(sid, from, to, kBodies[rng() % n_bodies], account);
    put(tollgate::twilio::computeSignature(token, url, p) + " " + formEncode(p));
  }
  f.close();
  if (!f) {
    std::cerr << "bench_make_requests: write to " << out << " failed\n";
    return 1;
  }
  return 0;
}
