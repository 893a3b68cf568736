// Twilio's price of calls, reconciled with what the tenant was charged (issue 26: "calls
// likewise"; docs/adr/0014 "Prices"). A completed call's status callback asks for it
// (price_after later, in the webhook's unit: storage ABI 1.13); a thread looks due calls up
// (GET Calls/{sid}.json, with the account of the number called), compares Twilio's price with
// the usage charged under the call's usage key, and books the difference as one ledger entry
// keyed price:<sid> (a refund when Twilio charged less, a voice charge when more). The call's
// record keeps both. Without a pricing plugin nothing is charged, so nothing is reconciled.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "storage/store.hpp"
#include "twilio/rest_client.hpp"

namespace tollgate::voice {

class CallPrices {
 public:
  struct Options {
    std::string currency;  // the wallets' ([billing] currency)
    // Looked up price_after after the final status, then again at growing intervals while
    // Twilio has none (or the call's usage is not charged yet), until price_give_up after the
    // call began (then what was charged stands).
    std::chrono::milliseconds price_after{60'000};
    std::chrono::milliseconds price_give_up{86'400'000};
    std::chrono::milliseconds poll{2'000};  // how often due calls are looked for
  };
  // The account a call is looked up with (that of the number called), or nullopt.
  using AccountOf = std::function<std::optional<twilio::Credentials>(const storage::Call& c)>;

  CallPrices(storage::Store& store, twilio::RestClient& rest, AccountOf account_of,
             Options options);
  ~CallPrices();  // stop()

  void start();
  void stop();

  // When a call that ended now should have its price looked up.
  int64_t checkAt(int64_t now_ms) const { return now_ms + options_.price_after.count(); }
  // Looks due calls up, on the caller's thread. Returns how many it priced or gave up on.
  size_t priceOnce();

  std::atomic<uint64_t> priced{0}, unpriced{0};

 private:
  storage::CallPrice price(const storage::Call& c, int64_t now);
  void run();

  storage::Store& store_;
  twilio::RestClient& rest_;
  const AccountOf account_of_;
  const Options options_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tollgate::voice
