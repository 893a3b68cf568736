// The outbox worker (docs/adr/0014): claims due messages in batches under a lease, sends each
// with at most one POST through the Twilio REST client, and records every outcome with guarded
// transitions, a batch at a time. A send Twilio answered goes ACCEPTED with its SID; one it
// refused goes FAILED with Twilio's code; one that certainly sent nothing (a 429 after the
// client's own retries, a connection never made) goes back to the queue with backoff, until
// max_attempts; one whose outcome is unknown goes UNKNOWN, to be reconciled, never re-sent.
// Leases of daemons that died are reclaimed on each round.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.hpp"
#include "twilio/rest_client.hpp"

namespace tollgate::messaging {

class OutboxWorker {
 public:
  struct Options {
    std::string owner;                        // this daemon, as leases name it
    std::chrono::milliseconds lease{25'000};  // no POST in its second half
    uint32_t batch = 64;                      // messages claimed per round
    size_t senders = 8;                       // POSTs in flight at once, per round
    size_t rounds = 1;     // rounds in flight at once (each claims its own batch)
    int max_attempts = 8;  // claims of one message before it fails for good
    std::chrono::milliseconds first_backoff{1'000};
    std::chrono::milliseconds max_backoff{300'000};
    std::chrono::milliseconds poll{1'000};  // a round at least this often
    // UNKNOWN messages: looked up at Twilio once this old (since they became UNKNOWN), and sent
    // again once missing from Twilio's list for reconcile_grace.
    std::chrono::milliseconds reconcile_after{10'000};
    std::chrono::milliseconds reconcile_grace{600'000};
    // How far ahead of its sender's pace a message may be claimed (Store::pacesSenders): rounds
    // run at least this often too, so a busy sender keeps its full rate.
    std::chrono::milliseconds pace_window{1'000};
    // Twilio's price of a final message (Store::pricesMessages): looked up price_after after
    // its final status, then again at growing intervals while Twilio has none, until
    // price_give_up after it was queued (then the estimate stands).
    std::chrono::milliseconds price_after{60'000};
    std::chrono::milliseconds price_give_up{86'400'000};
    // An ACCEPTED message whose final status callback has not come this long after: its
    // status (and price) looked up at Twilio, the same way.
    std::chrono::milliseconds final_status_after{3'600'000};
    // Told of a message whose status a lookup at Twilio changed (reconciled from UNKNOWN, or a
    // final status whose callback never came), as it now is: the tenant's status_callback
    // hears of it as of a callback's change. Null: nobody.
    std::function<void(const storage::OutboxMessage& m)> found_at_twilio;
  };
  // The account a message is sent with (that of the number it is sent from); nullopt: none.
  using AccountOf =
      std::function<std::optional<twilio::Credentials>(const storage::OutboxMessage& m)>;
  // The StatusCallback URL of a message (carries its id), or "" for none.
  using CallbackOf = std::function<std::string(const storage::OutboxMessage& m)>;

  OutboxWorker(storage::Store& store, twilio::RestClient& rest, AccountOf account_of,
               CallbackOf callback_of, Options options);
  ~OutboxWorker();  // stop()

  void start();
  void wake();  // a message was queued
  void stop();  // finishes the round in flight

  // One round, on the caller's thread (tests): reclaim, claim, send, record. Returns how many
  // messages it claimed.
  size_t runOnce();
  // Looks UNKNOWN messages up at Twilio (docs/adr/0014), on the caller's thread (runOnce does it
  // at most every few seconds). Returns how many it changed.
  size_t reconcileOnce();
  // Looks up Twilio's price of final messages that are due (docs/adr/0014 "Prices") and
  // reconciles it with what was charged, on the caller's thread (runOnce does it with
  // reconcileOnce). Returns how many it priced or gave up on.
  size_t priceOnce();
  // When a message that became final now should have its price looked up.
  int64_t priceCheckAt(int64_t now_ms) const { return now_ms + options_.price_after.count(); }
  // Marks `t` (to ACCEPTED) to be looked up at Twilio if no final status comes in time.
  void lookUpIfNoFinalStatus(storage::OutboxTransition& t, int64_t now_ms) const {
    t.price_state = TG_OUTBOX_PRICE_PENDING;
    t.price_check_at_ms = now_ms + options_.final_status_after.count();
  }

  std::atomic<uint64_t> accepted{0}, failed{0}, retried{0}, unknown{0}, reclaimed{0};
  std::atomic<uint64_t> reconciled{0}, resent{0};
  std::atomic<uint64_t> priced{0}, unpriced{0}, finals_found{0};

 private:
  // The outcome of one send, as the transition that records it.
  storage::OutboxTransition send(const storage::OutboxMessage& m);
  // The outcome of looking up one message's price, as the transition that records it.
  storage::OutboxTransition price(const storage::OutboxMessage& m, int64_t now);
  std::chrono::milliseconds backoff(int attempts) const;
  void settleHold(const storage::OutboxMessage& m, tg_outbox_state to);
  // Options::found_at_twilio for the tenant's message `id`, read as it now is.
  void foundAtTwilio(const std::string& tenant_id, const std::string& id);
  void settleHolds(
      const std::vector<std::pair<const storage::OutboxMessage*, tg_outbox_state>>& settle);
  // job(0..count), on up to `senders` threads at once (this one included).
  void inParallel(size_t count, const std::function<void(size_t)>& job) const;
  void run(bool lead);
  size_t round(bool lead);

  storage::Store& store_;
  twilio::RestClient& rest_;
  const AccountOf account_of_;
  const CallbackOf callback_of_;
  const Options options_;

  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t wakes_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;

  // Touched by the lead round only (runOnce: the caller's thread).
  int64_t next_reconcile_ms_ = 0;
  std::map<std::string, int64_t> next_lookup_ms_;  // UNKNOWN message id -> when to look again
};

}  // namespace tollgate::messaging
