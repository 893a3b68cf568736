// The storage interface the core sees: typed C++ over the storage plugin's C vtable.
// Every call goes through the plugin host's accounting (calls, errors, deadline overruns) and
// turns a non-OK status into StorageError carrying the status and the plugin's message.
#pragma once

#include <tollgate/abi/storage.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/vtables.hpp"

namespace tollgate::plugins {
class Plugin;
}

namespace tollgate::storage {

struct Tenant {
  std::string id;
  std::string name;
  tg_tenant_status status = TG_TENANT_ACTIVE;
  int64_t created_at_ms = 0;
};

struct ApiKey {
  std::string id;
  std::string tenant_id;
  std::string secret_sha256;
  std::string label;
  int64_t created_at_ms = 0;
  int64_t revoked_at_ms = 0;
};

struct Wallet {
  std::string tenant_id;
  std::string currency;
  int64_t balance_micros = 0;
  int64_t credit_limit_micros = 0;
  int64_t created_at_ms = 0;
  int64_t held_micros = 0;  // ABI 1.4: the active holds (0 from an older plugin)
  // What may be spent: balance less holds, down to -credit_limit.
  int64_t availableMicros() const { return balance_micros - held_micros; }
};

// Whether a debit may take a wallet below its credit limit: only usage that has already
// happened, which is owed whatever the wallet holds (ABI 1.6; an older plugin refuses anyway).
enum class Overdraft { kRefuse, kAllow };

struct LedgerEntryIn {
  tg_entry_kind kind = TG_ENTRY_CHARGE;
  int64_t amount_micros = 0;
  std::string reference;
  std::string description;
  std::string country;  // what the entry paid for (ISO 3166-1 alpha-2), or "" (ABI 1.6)
};

struct LedgerEntry {
  int64_t seq = 0;
  std::string tenant_id;
  std::string currency;
  tg_entry_kind kind = TG_ENTRY_CHARGE;
  int64_t amount_micros = 0;
  int64_t balance_after_micros = 0;
  std::string idempotency_key;
  std::string reference;
  std::string description;
  int64_t created_at_ms = 0;
};

struct ApplyResult {
  tg_apply_outcome outcome = TG_APPLY_INSUFFICIENT_FUNDS;
  int64_t balance_micros = 0;
  int64_t first_seq = 0;
};

// ABI 1.4: holds (abi/storage.h, hold_apply) and ledger queries.
struct HoldRequest {
  tg_hold_action action = TG_HOLD_RESERVE;
  std::string currency;
  std::string hold_id;
  int64_t amount_micros = 0;
  tg_entry_kind kind = TG_ENTRY_CHARGE;  // capture
  std::string reference;
  std::string description;
  int64_t expires_at_ms = 0;  // reserve
  int64_t now_ms = 0;
  std::string country;  // capture: the entry's (ISO 3166-1 alpha-2), or ""
};

struct HoldResult {
  tg_apply_outcome outcome = TG_APPLY_INSUFFICIENT_FUNDS;
  tg_hold_status status = 0;
  int64_t balance_micros = 0;
  int64_t held_micros = 0;
  int64_t captured_micros = 0;
  int64_t entry_seq = 0;
};

struct Hold {
  std::string hold_id;
  std::string tenant_id;
  std::string currency;
  tg_hold_status status = TG_HOLD_ACTIVE;
  int64_t amount_micros = 0;
  int64_t captured_micros = 0;
  int64_t entry_seq = 0;
  std::string reference;
  int64_t expires_at_ms = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct HoldQuery {
  std::string currency;
  tg_hold_status status = 0;  // 0: any
  std::string hold_id;        // non-empty: that one
  std::string after_id;
  uint32_t limit = 100;
};

// ABI 1.6: who pays into a wallet and its auto-recharge (abi/storage.h).
struct BillingProfile {
  std::string tenant_id;
  std::string currency;
  std::string provider;      // billing plugin id, or empty
  std::string customer_ref;  // that provider's customer, or empty
  int64_t recharge_threshold_micros = 0;
  int64_t recharge_amount_micros = 0;  // 0: auto-recharge off
  // The recharge state (read only: recharge_begin/end move it).
  bool recharge_in_flight = false;
  int64_t recharge_started_at_ms = 0;
  int32_t recharge_failures = 0;
  int64_t recharge_retry_at_ms = 0;
  std::string recharge_last_error;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct RechargeEnd {
  std::string currency;
  int64_t started_at_ms = 0;
  bool failed = false;
  std::string error;
  int64_t retry_at_ms = 0;
  int64_t now_ms = 0;
};

struct LedgerQuery {
  std::string currency;
  int64_t after_seq = 0;
  uint32_t limit = 100;
  tg_entry_kind kind = 0;  // 0: any
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  int64_t bucket_ms = 0;    // summaries
  bool by_country = false;  // summaries: by country too (ABI 1.6)
  // ABI 1.13 (Store::pricesCalls): only the entries applied under this key; the other filters
  // are ignored.
  std::string idempotency_key;
};

struct SummaryRow {
  int64_t bucket_start_ms = 0;
  tg_entry_kind kind = 0;
  int64_t entry_count = 0;
  int64_t total_micros = 0;
  std::string country;  // with LedgerQuery::by_country; "" for entries of no country
};

struct IdempotencyRecord {
  std::string tenant_id;
  std::string scope;
  std::string key;
  std::string request_hash;
  int32_t response_status = 0;
  std::string response_body;
  int64_t created_at_ms = 0;
};

// ABI 1.1 records.
struct Number {
  std::string e164;
  std::string tenant_id;
  std::string account_sid;
  std::string twilio_sid;
  std::string voice_plugin;
  std::string sms_plugin;
  std::string settings_json = "{}";
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct TwilioAccount {
  std::string account_sid;
  std::string tenant_id;
  std::string auth_token_enc;  // binary
  std::string friendly_name;
  bool is_subaccount = true;
  int64_t created_at_ms = 0;
};

struct Message {
  std::string sid;
  std::string tenant_id;
  tg_direction direction = TG_DIRECTION_INBOUND;
  std::string from_number;
  std::string to_number;
  std::string body;
  std::string status;
  int32_t status_rank = 0;
  int32_t error_code = 0;
  int32_t num_segments = 1;
  int64_t price_micros = 0;
  std::string currency;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct Call {
  std::string sid;
  std::string tenant_id;
  tg_direction direction = TG_DIRECTION_INBOUND;
  std::string from_number;
  std::string to_number;
  std::string status;
  int32_t status_rank = 0;
  int32_t duration_s = 0;
  std::string recording_url;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  // ABI 1.13: Twilio's price of the call (Store::pricesCalls), as for a message's.
  tg_outbox_price_state price_state = TG_OUTBOX_PRICE_NONE;
  int64_t charged_micros = 0;  // what the tenant was charged for the call, once PRICED
  int64_t price_micros = 0;    // Twilio's price (a cost), once PRICED
  int64_t price_check_at_ms = 0;
};

// ABI 1.13: the outcome of looking a call's price up (Store::setCallPrice).
struct CallPrice {
  std::string sid;
  tg_outbox_price_state price_state = TG_OUTBOX_PRICE_PENDING;
  int64_t charged_micros = 0;
  int64_t price_micros = 0;
  int64_t price_check_at_ms = 0;
  int64_t now_ms = 0;
};

struct LogQuery {
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  std::string status;
  std::string number;
  int64_t before_ms = 0;
  std::string before_sid;
  uint32_t limit = 100;
};

// ABI 1.7: usage queued by the unit that recorded it, to be priced and charged later
// (abi/storage.h, "queued usage").
struct Usage {
  std::string tenant_id;  // read back: the owner; queued: the unit's tenant
  std::string key;        // the ledger key it is charged under, e.g. "usage:sms:SM..."
  std::string currency;
  int32_t product = 0;  // tg_product
  std::string sid;
  std::string number;       // priced by; empty: the call's, looked up then
  std::string counterpart;  // the other party, for the entry's description
  int32_t quantity = 1;     // segments, or seconds
  int64_t created_at_ms = 0;
};

// What a queued usage costs, for Store::settleUsage.
struct UsageCharge {
  std::string tenant_id;
  std::string key;
  std::string currency;
  int64_t amount_micros = 0;  // 0: nothing to charge; the usage only leaves the queue
  tg_entry_kind kind = 0;
  std::string reference;
  std::string description;
  std::string country;
  int64_t now_ms = 0;
};

// ABI 1.8: a message in the outbox (abi/storage.h, "the outbox").
struct OutboxMessage {
  std::string id;
  std::string tenant_id;
  std::string from_number;
  std::string to_number;
  std::string body;
  std::string media_urls;  // one per line
  std::string status_callback;
  int32_t segments = 0;
  std::string currency;
  std::string hold_id;
  tg_outbox_state state = TG_OUTBOX_QUEUED;
  int32_t attempts = 0;
  int64_t next_attempt_at_ms = 0;
  std::string lease_owner;
  int64_t lease_until_ms = 0;
  std::string twilio_sid;
  std::string twilio_status;
  int32_t status_rank = 0;
  int32_t error_code = 0;
  std::string error;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t pace_us = 0;  // ABI 1.10: what it takes of its sender's rate (messaging/pace.hpp)
  // ABI 1.11: what the send reserved, and Twilio's price (TG_OUTBOX_PRICE_*; messaging/pricer).
  int64_t estimate_micros = 0;
  tg_outbox_price_state price_state = TG_OUTBOX_PRICE_NONE;
  int64_t price_micros = 0;
  int64_t price_check_at_ms = 0;
};

// A guarded change of an outbox message (Store::transitionOutbox; abi/storage.h).
struct OutboxTransition {
  std::string tenant_id;
  std::string id;
  uint32_t from_states = 0;  // TG_OUTBOX_IN(...) | ...
  std::string lease_owner;   // from SENDING: who must hold it
  tg_outbox_state to_state = TG_OUTBOX_QUEUED;
  std::string twilio_sid;
  std::string twilio_status;
  int32_t status_rank = 0;
  int32_t error_code = 0;
  std::string error;
  int64_t next_attempt_at_ms = 0;
  int64_t now_ms = 0;
  // ABI 1.11 (Store::pricesMessages): non-NONE stores the three as given.
  tg_outbox_price_state price_state = TG_OUTBOX_PRICE_NONE;
  int64_t price_micros = 0;
  int64_t price_check_at_ms = 0;
};

class StorageError : public std::runtime_error {
 public:
  StorageError(tg_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  tg_status status() const noexcept { return status_; }

 private:
  tg_status status_;
};

class Unit;
struct UnitResult;

class Store {
 public:
  explicit Store(plugins::Plugin& plugin);

  // Applies the schema migrations, waiting for another daemon's migration if one runs, for at
  // most `timeout` in all (not the plugin's per-call deadline: an index build on a large table
  // takes longer).
  int64_t migrate(std::chrono::milliseconds timeout = std::chrono::minutes(10));

  void createTenant(const Tenant& t);
  std::optional<Tenant> tenant(std::string_view id);
  std::vector<Tenant> tenants(std::string_view after_id, uint32_t limit);
  void setTenantStatus(std::string_view id, tg_tenant_status status);

  void createApiKey(const ApiKey& k);
  std::optional<ApiKey> apiKey(std::string_view key_id);  // across tenants
  std::vector<ApiKey> apiKeys(std::string_view tenant_id);
  void revokeApiKey(std::string_view tenant_id, std::string_view key_id, int64_t at_ms);

  void createWallet(const Wallet& w);
  std::optional<Wallet> wallet(std::string_view tenant_id, std::string_view currency);
  ApplyResult applyLedger(std::string_view tenant_id, std::string_view currency,
                          std::string_view idempotency_key,
                          const std::vector<LedgerEntryIn>& entries, int64_t now_ms,
                          Overdraft overdraft = Overdraft::kRefuse);
  std::vector<LedgerEntry> ledger(std::string_view tenant_id, std::string_view currency,
                                  int64_t after_seq, uint32_t limit);

  // ABI 1.4. Each throws StorageError TG_ERR_UNSUPPORTED when the plugin lacks it.
  bool hasHolds() const;
  HoldResult applyHold(std::string_view tenant_id, const HoldRequest& r);
  std::vector<Hold> holds(std::string_view tenant_id, const HoldQuery& q);
  // Expires due holds of tenant_id, or of every tenant when it is empty; returns how many.
  uint32_t expireHolds(std::string_view tenant_id, int64_t now_ms, uint32_t limit);
  std::vector<LedgerEntry> queryLedger(std::string_view tenant_id, const LedgerQuery& q);
  std::vector<SummaryRow> summarizeLedger(std::string_view tenant_id, const LedgerQuery& q);

  // Called with the tenant after each write that lowered its available balance (a ledger apply
  // whose entries sum below zero, a hold reserved), on the writer's thread: it must be quick.
  // Set once, before the store is shared between threads.
  void onSpend(std::function<void(std::string_view tenant_id)> fn) { on_spend_ = std::move(fn); }

  // ABI 1.6. Each throws StorageError TG_ERR_UNSUPPORTED when the plugin lacks it.
  bool hasBillingProfiles() const;
  void putBillingProfile(const BillingProfile& p);
  std::optional<BillingProfile> billingProfile(std::string_view tenant_id,
                                               std::string_view currency);
  // The lease's started_at_ms, or 0 when none began (abi/storage.h recharge_begin).
  int64_t beginRecharge(std::string_view tenant_id, std::string_view currency, int64_t now_ms,
                        int64_t lease_ms);
  // Whether that lease was still in flight, and is now ended.
  bool endRecharge(std::string_view tenant_id, const RechargeEnd& r);

  // ABI 1.7: queued usage. queuesUsage: whether units can queue usage and it can be settled
  // (otherwise usage is charged as it happens). queuedUsage: of every tenant, oldest first.
  // settleUsage: each charge's own status (TG_OK, or why it stays queued), in order.
  bool queuesUsage() const;
  std::vector<Usage> queuedUsage(uint32_t limit);
  std::vector<tg_status> settleUsage(const std::vector<UsageCharge>& charges);

  // ABI 1.8: the outbox. Each throws StorageError TG_ERR_UNSUPPORTED when the plugin lacks it.
  // hasOutbox: whether units can add to it and it can be worked.
  bool hasOutbox() const;
  // ABI 1.9: whether units can record a status Twilio reported (Unit::setOutboxStatus).
  bool takesOutboxStatus() const;
  // ABI 1.12: whether units can settle holds (Unit::settleHold).
  bool settlesHoldsInUnits() const;
  // ABI 1.13: calls' prices: a call status in a unit can ask for one
  // (StatusChange::price_state), due calls are listed and their outcome stored. The ledger is
  // queried by key (LedgerQuery::idempotency_key) from 1.13 too, units or not.
  bool pricesCalls() const;
  std::vector<Call> callPriceDue(int64_t now_ms, uint32_t limit);
  // Whether it was stored: false if the call's price was no longer PENDING.
  bool setCallPrice(std::string_view tenant_id, const CallPrice& p);
  // ABI 1.10: whether claims keep each sender to its pace (outbox_claim_paced); without it,
  // claimOutbox takes due messages whatever their pace.
  bool pacesSenders() const;
  // ABI 1.11: whether messages keep their prices (estimate_micros, price_*) and the pending ones
  // can be listed (outboxPriceDue).
  bool pricesMessages() const;
  std::vector<OutboxMessage> outboxPriceDue(int64_t now_ms, uint32_t limit);
  std::vector<OutboxMessage> claimOutbox(int64_t now_ms, int64_t lease_ms, std::string_view owner,
                                         uint32_t limit, int64_t pace_window_ms = 0);
  // Whether each transition was applied (its guard held), in order.
  std::vector<bool> transitionOutbox(const std::vector<OutboxTransition>& transitions);
  uint32_t reclaimOutbox(int64_t now_ms, uint32_t limit);
  std::optional<OutboxMessage> outboxMessage(std::string_view tenant_id, std::string_view id);
  // tenant_id empty: every tenant's.
  std::vector<OutboxMessage> outboxMessages(std::string_view tenant_id, tg_outbox_state state,
                                            uint32_t limit);

  // Returns nullopt when this call claimed the key, else the record stored earlier.
  std::optional<IdempotencyRecord> claimIdempotency(const IdempotencyRecord& r);
  void completeIdempotency(std::string_view tenant_id, std::string_view scope, std::string_view key,
                           int32_t response_status, std::string_view response_body);
  // ABI 1.2: the compare-and-swap on a claim in progress (abi/storage.h): whether this call
  // changed its time from `expected_ms` to `new_ms`, or nullopt when the plugin lacks the
  // operation (a plugin of an older minor, or one that answers TG_ERR_UNSUPPORTED).
  std::optional<bool> reclaimIdempotency(std::string_view tenant_id, std::string_view scope,
                                         std::string_view key, int64_t expected_ms, int64_t new_ms);

  // ABI 1.3: applies a unit of work atomically, in one commit (possibly shared with other
  // callers' units). A plugin without unit_apply gets each operation as its own call, in
  // order: still correct for the webhooks' writes (each tolerates a repeat), but not atomic and
  // one commit per operation (docs/abi-policy.md).
  UnitResult apply(const Unit& unit);
  // Whether apply() reaches the plugin's unit_apply.
  bool appliesUnits() const;

  // ABI 1.1. Empty tenant_id on numberByE164/twilioAccount: look up across tenants.
  void putNumber(const Number& n);
  std::optional<Number> number(std::string_view tenant_id, std::string_view e164);
  std::vector<Number> numbers(std::string_view tenant_id);
  void detachNumber(std::string_view tenant_id, std::string_view e164);
  void putTwilioAccount(const TwilioAccount& a);
  std::optional<TwilioAccount> twilioAccount(std::string_view tenant_id, std::string_view sid);

  void insertMessage(const Message& m);
  bool updateMessageStatus(std::string_view tenant_id, std::string_view sid,
                           std::string_view status, int32_t rank, int32_t error_code,
                           int64_t now_ms);
  std::optional<Message> message(std::string_view tenant_id, std::string_view sid);
  std::vector<Message> messages(std::string_view tenant_id, const LogQuery& q);

  void insertCall(const Call& c);
  bool updateCallStatus(std::string_view tenant_id, std::string_view sid, std::string_view status,
                        int32_t rank, int32_t duration_s, int64_t now_ms);
  void setCallRecording(std::string_view tenant_id, std::string_view sid, std::string_view url,
                        int64_t now_ms);
  std::optional<Call> call(std::string_view tenant_id, std::string_view sid);
  std::vector<Call> calls(std::string_view tenant_id, const LogQuery& q);

  void setOptOut(std::string_view tenant_id, std::string_view phone, bool opted_out,
                 std::string_view keyword, std::string_view message_sid, int64_t now_ms);
  bool optedOut(std::string_view tenant_id, std::string_view phone);

  // The ABI minor whose operations tollgated needs from its storage plugin.
  static constexpr uint16_t kNeededMinor = 1;
  // The first required callback up to ABI 1.kNeededMinor the plugin lacks (its vtable ends
  // before it, or it is null), or nullptr when it has them all.
  const plugins::CallbackSlot* missingCallback() const;

  plugins::Plugin& plugin() { return plugin_; }

 private:
  // Calls the plugin under its per-call deadline (invoke) or another one (invokeWithin),
  // recording the call and turning a failed status into a StorageError.
  template <class Fn>
  void invoke(std::string_view op, std::string_view tenant_id, Fn&& fn);
  template <class Fn>
  void invokeWithin(std::chrono::milliseconds deadline, std::string_view op,
                    std::string_view tenant_id, Fn&& fn);
  // One row or nullopt on TG_ERR_NOT_FOUND.
  template <class Rows, class Fn>
  auto optionalOne(std::string_view op, std::string_view tenant_id, Fn&& fn)
      -> std::optional<typename decltype(Rows::rows)::value_type>;

  UnitResult applyEach(const Unit& unit);
  bool abi13() const;  // the plugin has ABI 1.13's calls' prices and ledger query by key
  void applyEachAfterClaim(const Unit& unit, UnitResult& result);

  plugins::Plugin& plugin_;
  const tg_storage_vtable* vt_;
  std::atomic<bool> units_unsupported_{false};  // the plugin answered TG_ERR_UNSUPPORTED
  std::function<void(std::string_view)> on_spend_;
};

}  // namespace tollgate::storage
