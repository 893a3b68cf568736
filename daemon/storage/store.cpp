#include "storage/store.hpp"

#include <deque>

#include <fmt/format.h>
#include <chrono>
#include <cstring>
#include <utility>

#include "plugins/boundary.hpp"
#include "plugins/plugin_host.hpp"
#include "storage/unit.hpp"

namespace tollgate::storage {
namespace {

tg_str str(std::string_view s) { return tg_str{s.data(), s.size()}; }
std::string copy(tg_str s) { return s.size == 0 ? std::string{} : std::string(s.data, s.size); }
std::string code(const char (&c)[4]) { return std::string(c, strnlen(c, 4)); }

void setCode(char (&dst)[4], std::string_view code) {
  std::memset(dst, 0, sizeof dst);
  std::memcpy(dst, code.data(), std::min<size_t>(code.size(), 3));
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Why the last row sink on this thread could not take a row, or empty. Sinks run inside the
// plugin's call, on the calling thread (abi/storage.h), so nothing may escape them: a sink
// records its failure here and Store::invokeWithin raises it once the plugin has returned.
thread_local std::string sink_failure;
thread_local bool sink_threw = false;  // the failure was an exception of the host's own code

// Sink adapters: each copies the borrowed row into an owned C++ value. A row shorter than this
// host's struct is refused rather than over-read (a field a later minor appends must be read
// with TG_HAS_FIELD here first).
// A converter may accept an older, shorter row by naming its kMinSize.
template <class Row, class Convert>
constexpr size_t minRowSize() {
  if constexpr (requires { Convert::kMinSize; }) {
    return Convert::kMinSize;
  } else {
    return sizeof(Row);
  }
}

template <class Row, class Out, class Convert>
struct Collector {
  std::vector<Out> rows;
  static void fn(void* ctx, const Row* row) noexcept {
    if (!sink_failure.empty()) return;
    constexpr size_t kNeeded = minRowSize<Row, Convert>();
    if (row == nullptr || row->struct_size < kNeeded) {
      sink_failure = fmt::format("plugin delivered a {} of {} bytes; this host needs {}",
                                 Convert::kRow, row == nullptr ? 0 : row->struct_size, kNeeded);
      return;
    }
    const bool taken = plugins::stopAtBoundary("storage row sink", nullptr, [&] {
      static_cast<Collector*>(ctx)->rows.push_back(Convert{}(*row));
    });
    if (!taken) {
      sink_failure = "the host could not take a row (see the log)";
      sink_threw = true;
    }
  }
};

struct ToTenant {
  static constexpr const char* kRow = "tg_tenant_row";
  Tenant operator()(const tg_tenant_row& r) const {
    return Tenant{copy(r.id), copy(r.name), r.status, r.created_at_ms};
  }
};
struct ToApiKey {
  static constexpr const char* kRow = "tg_api_key_row";
  ApiKey operator()(const tg_api_key_row& r) const {
    return ApiKey{copy(r.id),    copy(r.tenant_id), copy(r.secret_sha256),
                  copy(r.label), r.created_at_ms,   r.revoked_at_ms};
  }
};
struct ToWallet {
  static constexpr const char* kRow = "tg_wallet_row";
  // A plugin older than ABI 1.4 has no holds: its rows end before held_micros.
  static constexpr size_t kMinSize = offsetof(tg_wallet_row, held_micros);
  Wallet operator()(const tg_wallet_row& r) const {
    return Wallet{
        .tenant_id = copy(r.tenant_id),
        .currency = std::string(r.currency, strnlen(r.currency, 4)),
        .balance_micros = r.balance_micros,
        .credit_limit_micros = r.credit_limit_micros,
        .created_at_ms = r.created_at_ms,
        .held_micros = TG_HAS_FIELD(tg_wallet_row, r.struct_size, held_micros) ? r.held_micros : 0};
  }
};
struct ToHold {
  static constexpr const char* kRow = "tg_hold_row";
  Hold operator()(const tg_hold_row& r) const {
    return Hold{.hold_id = copy(r.hold_id),
                .tenant_id = copy(r.tenant_id),
                .currency = std::string(r.currency, strnlen(r.currency, 4)),
                .status = r.status,
                .amount_micros = r.amount_micros,
                .captured_micros = r.captured_micros,
                .entry_seq = r.entry_seq,
                .reference = copy(r.reference),
                .expires_at_ms = r.expires_at_ms,
                .created_at_ms = r.created_at_ms,
                .updated_at_ms = r.updated_at_ms};
  }
};
struct ToSummary {
  static constexpr const char* kRow = "tg_ledger_summary_row";
  // A plugin of ABI 1.4 or 1.5 delivers rows without a country.
  static constexpr size_t kMinSize = offsetof(tg_ledger_summary_row, country);
  SummaryRow operator()(const tg_ledger_summary_row& r) const {
    return SummaryRow{.bucket_start_ms = r.bucket_start_ms,
                      .kind = r.kind,
                      .entry_count = r.entry_count,
                      .total_micros = r.total_micros,
                      .country = TG_HAS_FIELD(tg_ledger_summary_row, r.struct_size, country)
                                     ? code(r.country)
                                     : std::string()};
  }
};
struct ToEntry {
  static constexpr const char* kRow = "tg_ledger_entry_row";
  LedgerEntry operator()(const tg_ledger_entry_row& r) const {
    return LedgerEntry{r.seq,
                       copy(r.tenant_id),
                       std::string(r.currency, strnlen(r.currency, 4)),
                       r.kind,
                       r.amount_micros,
                       r.balance_after_micros,
                       copy(r.idempotency_key),
                       copy(r.reference),
                       copy(r.description),
                       r.created_at_ms};
  }
};
struct ToIdem {
  static constexpr const char* kRow = "tg_idempotency_row";
  IdempotencyRecord operator()(const tg_idempotency_row& r) const {
    return IdempotencyRecord{copy(r.tenant_id),    copy(r.scope),     copy(r.key),
                             copy(r.request_hash), r.response_status, copy(r.response_body),
                             r.created_at_ms};
  }
};

struct ToNumber {
  static constexpr const char* kRow = "tg_number_row";
  Number operator()(const tg_number_row& r) const {
    return Number{copy(r.e164),          copy(r.tenant_id),    copy(r.account_sid),
                  copy(r.twilio_sid),    copy(r.voice_plugin), copy(r.sms_plugin),
                  copy(r.settings_json), r.created_at_ms,      r.updated_at_ms};
  }
};
struct ToAccount {
  static constexpr const char* kRow = "tg_twilio_account_row";
  TwilioAccount operator()(const tg_twilio_account_row& r) const {
    return TwilioAccount{copy(r.account_sid),   copy(r.tenant_id),    copy(r.auth_token_enc),
                         copy(r.friendly_name), r.is_subaccount != 0, r.created_at_ms};
  }
};
struct ToMessage {
  static constexpr const char* kRow = "tg_message_row";
  Message operator()(const tg_message_row& r) const {
    return Message{copy(r.sid),       copy(r.tenant_id), r.direction,    copy(r.from_number),
                   copy(r.to_number), copy(r.body),      copy(r.status), r.status_rank,
                   r.error_code,      r.num_segments,    r.price_micros, code(r.currency),
                   r.created_at_ms,   r.updated_at_ms};
  }
};
struct ToCall {
  static constexpr const char* kRow = "tg_call_row";
  // A plugin before 1.13 ends the row at updated_at_ms: no price.
  static constexpr size_t kMinSize = offsetof(tg_call_row, price_state);
  Call operator()(const tg_call_row& r) const {
    const bool priced = TG_HAS_FIELD(tg_call_row, r.struct_size, price_check_at_ms);
    return Call{.sid = copy(r.sid),
                .tenant_id = copy(r.tenant_id),
                .direction = r.direction,
                .from_number = copy(r.from_number),
                .to_number = copy(r.to_number),
                .status = copy(r.status),
                .status_rank = r.status_rank,
                .duration_s = r.duration_s,
                .recording_url = copy(r.recording_url),
                .created_at_ms = r.created_at_ms,
                .updated_at_ms = r.updated_at_ms,
                .price_state = priced ? r.price_state : TG_OUTBOX_PRICE_NONE,
                .charged_micros = priced ? r.charged_micros : 0,
                .price_micros = priced ? r.price_micros : 0,
                .price_check_at_ms = priced ? r.price_check_at_ms : 0};
  }
};

struct ToProfile {
  static constexpr const char* kRow = "tg_billing_profile_row";
  BillingProfile operator()(const tg_billing_profile_row& r) const {
    return BillingProfile{.tenant_id = copy(r.tenant_id),
                          .currency = code(r.currency),
                          .provider = copy(r.provider),
                          .customer_ref = copy(r.customer_ref),
                          .recharge_threshold_micros = r.recharge_threshold_micros,
                          .recharge_amount_micros = r.recharge_amount_micros,
                          .recharge_in_flight = r.recharge_in_flight != 0,

                          .recharge_started_at_ms = r.recharge_started_at_ms,
                          .recharge_failures = r.recharge_failures,
                          .recharge_retry_at_ms = r.recharge_retry_at_ms,
                          .recharge_last_error = copy(r.recharge_last_error),
                          .created_at_ms = r.created_at_ms,
                          .updated_at_ms = r.updated_at_ms};
  }
};

struct ToOutbox {
  static constexpr const char* kRow = "tg_outbox_row";
  // A 1.8/1.9 plugin's row ends at updated_at_ms: no pace.
  static constexpr size_t kMinSize = offsetof(tg_outbox_row, pace_us);
  OutboxMessage operator()(const tg_outbox_row& r) const {
    const bool priced = TG_HAS_FIELD(tg_outbox_row, r.struct_size, price_check_at_ms);
    return OutboxMessage{
        .id = copy(r.id),
        .tenant_id = copy(r.tenant_id),
        .from_number = copy(r.from_number),
        .to_number = copy(r.to_number),
        .body = copy(r.body),
        .media_urls = copy(r.media_urls),
        .status_callback = copy(r.status_callback),
        .segments = r.segments,
        .currency = code(r.currency),
        .hold_id = copy(r.hold_id),
        .state = r.state,
        .attempts = r.attempts,
        .next_attempt_at_ms = r.next_attempt_at_ms,
        .lease_owner = copy(r.lease_owner),
        .lease_until_ms = r.lease_until_ms,
        .twilio_sid = copy(r.twilio_sid),
        .twilio_status = copy(r.twilio_status),
        .status_rank = r.status_rank,
        .error_code = r.error_code,
        .error = copy(r.error),
        .created_at_ms = r.created_at_ms,
        .updated_at_ms = r.updated_at_ms,
        .pace_us = TG_HAS_FIELD(tg_outbox_row, r.struct_size, pace_us) ? r.pace_us : 0,
        .estimate_micros = priced ? r.estimate_micros : 0,
        .price_state = priced ? r.price_state : TG_OUTBOX_PRICE_NONE,
        .price_micros = priced ? r.price_micros : 0,
        .price_check_at_ms = priced ? r.price_check_at_ms : 0};
  }
};

struct ToUsage {
  static constexpr const char* kRow = "tg_usage_row";
  Usage operator()(const tg_usage_row& r) const {
    return Usage{.tenant_id = copy(r.tenant_id),
                 .key = copy(r.key),
                 .currency = code(r.currency),
                 .product = r.product,
                 .sid = copy(r.sid),
                 .number = copy(r.number),
                 .counterpart = copy(r.counterpart),
                 .quantity = r.quantity,
                 .created_at_ms = r.created_at_ms};
  }
};

using NumberRows = Collector<tg_number_row, Number, ToNumber>;
using UsageRows = Collector<tg_usage_row, Usage, ToUsage>;
using OutboxRows = Collector<tg_outbox_row, OutboxMessage, ToOutbox>;
using AccountRows = Collector<tg_twilio_account_row, TwilioAccount, ToAccount>;
using MessageRows = Collector<tg_message_row, Message, ToMessage>;
using CallRows = Collector<tg_call_row, Call, ToCall>;
using TenantRows = Collector<tg_tenant_row, Tenant, ToTenant>;
using KeyRows = Collector<tg_api_key_row, ApiKey, ToApiKey>;
using WalletRows = Collector<tg_wallet_row, Wallet, ToWallet>;
using EntryRows = Collector<tg_ledger_entry_row, LedgerEntry, ToEntry>;
using IdemRows = Collector<tg_idempotency_row, IdempotencyRecord, ToIdem>;
using HoldRows = Collector<tg_hold_row, Hold, ToHold>;
using SummaryRows = Collector<tg_ledger_summary_row, SummaryRow, ToSummary>;
using ProfileRows = Collector<tg_billing_profile_row, BillingProfile, ToProfile>;

template <class T>
std::optional<T> first(std::vector<T>& rows) {
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

}  // namespace

namespace {
// ABI views of records; borrow m's strings.
tg_message_row messageRow(const Message& m) {
  tg_message_row row{sizeof(row),  str(m.sid),         str(m.tenant_id),
                     m.direction,  str(m.from_number), str(m.to_number),
                     str(m.body),  str(m.status),      m.status_rank,
                     m.error_code, m.num_segments,     m.price_micros,
                     {},           m.created_at_ms,    m.updated_at_ms};
  setCode(row.currency, m.currency);
  return row;
}
tg_call_row callRow(const Call& k) {
  return tg_call_row{.struct_size = sizeof(tg_call_row),
                     .sid = str(k.sid),
                     .tenant_id = str(k.tenant_id),
                     .direction = k.direction,
                     .from_number = str(k.from_number),
                     .to_number = str(k.to_number),
                     .status = str(k.status),
                     .status_rank = k.status_rank,
                     .duration_s = k.duration_s,
                     .recording_url = str(k.recording_url),
                     .created_at_ms = k.created_at_ms,
                     .updated_at_ms = k.updated_at_ms,
                     .price_state = k.price_state,
                     .charged_micros = k.charged_micros,
                     .price_micros = k.price_micros,
                     .price_check_at_ms = k.price_check_at_ms};
}
tg_idempotency_row idempotencyRow(const IdempotencyRecord& r) {
  return tg_idempotency_row{
      sizeof(tg_idempotency_row), str(r.tenant_id),  str(r.scope),         str(r.key),
      str(r.request_hash),        r.response_status, str(r.response_body), r.created_at_ms};
}
}  // namespace

Store::Store(plugins::Plugin& plugin) : plugin_(plugin), vt_(plugin.vtable<tg_storage_vtable>()) {}

template <class Fn>
void Store::invoke(std::string_view op, std::string_view tenant_id, Fn&& fn) {
  invokeWithin(plugin_.deadline(), op, tenant_id, std::forward<Fn>(fn));
}

template <class Fn>
void Store::invokeWithin(std::chrono::milliseconds deadline, std::string_view op,
                         std::string_view tenant_id, Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  tg_call_ctx ctx{sizeof(tg_call_ctx), str(tenant_id), str(op), nowMs() + deadline.count()};
  tg_error err{};
  sink_failure.clear();
  sink_threw = false;
  const tg_status st = fn(&ctx, &err);
  plugin_.record(st, std::chrono::steady_clock::now() - start);
  if (!sink_failure.empty()) {
    if (sink_threw) plugin_.stats().host_exceptions.fetch_add(1, std::memory_order_relaxed);
    const std::string why = std::exchange(sink_failure, {});
    throw StorageError(TG_ERR_INTERNAL, fmt::format("storage {}: {}", op, why));
  }
  if (st != TG_OK) {
    err.message[sizeof(err.message) - 1] = '\0';
    throw StorageError(st, fmt::format("storage {}: {}", op, err.message));
  }
}

int64_t Store::migrate(std::chrono::milliseconds timeout) {
  int64_t version = 0;
  invokeWithin(timeout, "migrate", "",
               [&](auto* c, auto* e) { return vt_->migrate(plugin_.instance(), c, &version, e); });
  return version;
}

void Store::createTenant(const Tenant& t) {
  const tg_tenant_row row{sizeof(row), str(t.id), str(t.name), t.status, t.created_at_ms};
  invoke("tenant_create", "",
         [&](auto* c, auto* e) { return vt_->tenant_create(plugin_.instance(), c, &row, e); });
}

std::optional<Tenant> Store::tenant(std::string_view id) {
  TenantRows rows;
  try {
    invoke("tenant_get", id, [&](auto* c, auto* e) {
      return vt_->tenant_get(plugin_.instance(), c, str(id), {&rows, TenantRows::fn}, e);
    });
  } catch (const StorageError& e) {
    if (e.status() == TG_ERR_NOT_FOUND) return std::nullopt;
    throw;
  }
  return first(rows.rows);
}

std::vector<Tenant> Store::tenants(std::string_view after_id, uint32_t limit) {
  TenantRows rows;
  invoke("tenant_list", "", [&](auto* c, auto* e) {
    return vt_->tenant_list(plugin_.instance(), c, str(after_id), limit, {&rows, TenantRows::fn},
                            e);
  });
  return std::move(rows.rows);
}

void Store::setTenantStatus(std::string_view id, tg_tenant_status status) {
  invoke("tenant_set_status", id, [&](auto* c, auto* e) {
    return vt_->tenant_set_status(plugin_.instance(), c, str(id), status, e);
  });
}

void Store::createApiKey(const ApiKey& k) {
  const tg_api_key_row row{sizeof(row),  str(k.id),       str(k.tenant_id), str(k.secret_sha256),
                           str(k.label), k.created_at_ms, k.revoked_at_ms};
  invoke("api_key_create", k.tenant_id,
         [&](auto* c, auto* e) { return vt_->api_key_create(plugin_.instance(), c, &row, e); });
}

std::optional<ApiKey> Store::apiKey(std::string_view key_id) {
  KeyRows rows;
  try {
    invoke("api_key_get", "", [&](auto* c, auto* e) {
      return vt_->api_key_get(plugin_.instance(), c, str(key_id), {&rows, KeyRows::fn}, e);
    });
  } catch (const StorageError& e) {
    if (e.status() == TG_ERR_NOT_FOUND) return std::nullopt;
    throw;
  }
  return first(rows.rows);
}

std::vector<ApiKey> Store::apiKeys(std::string_view tenant_id) {
  KeyRows rows;
  invoke("api_key_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->api_key_list(plugin_.instance(), c, {&rows, KeyRows::fn}, e);
  });
  return std::move(rows.rows);
}

void Store::revokeApiKey(std::string_view tenant_id, std::string_view key_id, int64_t at_ms) {
  invoke("api_key_revoke", tenant_id, [&](auto* c, auto* e) {
    return vt_->api_key_revoke(plugin_.instance(), c, str(key_id), at_ms, e);
  });
}

void Store::createWallet(const Wallet& w) {
  tg_wallet_row row{.struct_size = sizeof(row),
                    .tenant_id = str(w.tenant_id),
                    .currency = {},
                    .balance_micros = w.balance_micros,
                    .credit_limit_micros = w.credit_limit_micros,
                    .created_at_ms = w.created_at_ms,
                    .held_micros = 0};
  setCode(row.currency, w.currency);
  invoke("wallet_create", w.tenant_id,
         [&](auto* c, auto* e) { return vt_->wallet_create(plugin_.instance(), c, &row, e); });
}

std::optional<Wallet> Store::wallet(std::string_view tenant_id, std::string_view currency) {
  WalletRows rows;
  char cur[4];
  setCode(cur, currency);
  try {
    invoke("wallet_get", tenant_id, [&](auto* c, auto* e) {
      return vt_->wallet_get(plugin_.instance(), c, cur, {&rows, WalletRows::fn}, e);
    });
  } catch (const StorageError& e) {
    if (e.status() == TG_ERR_NOT_FOUND) return std::nullopt;
    throw;
  }
  return first(rows.rows);
}

ApplyResult Store::applyLedger(std::string_view tenant_id, std::string_view currency,
                               std::string_view idempotency_key,
                               const std::vector<LedgerEntryIn>& entries, int64_t now_ms,
                               Overdraft overdraft) {
  std::vector<tg_ledger_entry_in> in;
  in.reserve(entries.size());
  for (const auto& e : entries) {
    tg_ledger_entry_in& entry =
        in.emplace_back(tg_ledger_entry_in{.struct_size = sizeof(tg_ledger_entry_in),
                                           .kind = e.kind,
                                           .amount_micros = e.amount_micros,
                                           .reference = str(e.reference),
                                           .description = str(e.description),
                                           .country = {}});
    setCode(entry.country, e.country);
  }
  tg_ledger_apply_request req{.struct_size = sizeof(req),
                              .currency = {},
                              .idempotency_key = str(idempotency_key),
                              .entries = in.data(),
                              .entry_count = in.size(),
                              .now_ms = now_ms,
                              .allow_overdraft = overdraft == Overdraft::kAllow ? 1 : 0};
  setCode(req.currency, currency);
  tg_ledger_apply_result out{};
  out.struct_size = sizeof(out);
  invoke("ledger_apply", tenant_id,
         [&](auto* c, auto* e) { return vt_->ledger_apply(plugin_.instance(), c, &req, &out, e); });
  if (out.outcome == TG_APPLY_APPLIED && on_spend_) {
    int64_t sum = 0;
    for (const auto& e : entries) sum += e.amount_micros;
    if (sum < 0) on_spend_(tenant_id);
  }
  return ApplyResult{out.outcome, out.balance_micros, out.first_seq};
}

std::vector<LedgerEntry> Store::ledger(std::string_view tenant_id, std::string_view currency,
                                       int64_t after_seq, uint32_t limit) {
  EntryRows rows;
  char cur[4];
  setCode(cur, currency);
  invoke("ledger_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->ledger_list(plugin_.instance(), c, cur, after_seq, limit, {&rows, EntryRows::fn},
                            e);
  });
  return std::move(rows.rows);
}

// ---- ABI 1.4: holds and ledger queries ----

#define TG_STORE_REQUIRE_14(field)                                                          \
  do {                                                                                      \
    if (!TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, field) || vt_->field == nullptr) \
      throw StorageError(TG_ERR_UNSUPPORTED,                                                \
                         "storage plugin lacks " #field                                     \
                         " (ABI 1.4): holds and ledger "                                    \
                         "queries need a storage plugin built for ABI 1.4 or later");       \
  } while (0)

bool Store::hasHolds() const {
  return TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, ledger_summary) &&
         vt_->hold_apply != nullptr && vt_->hold_list != nullptr && vt_->hold_expire != nullptr &&
         vt_->ledger_query != nullptr && vt_->ledger_summary != nullptr;
}

namespace {
tg_ledger_query ledgerQueryOf(const LedgerQuery& q) {
  tg_ledger_query out{.struct_size = sizeof(tg_ledger_query),
                      .currency = {},
                      .after_seq = q.after_seq,
                      .limit = q.limit,
                      .kind = q.kind,
                      .from_ms = q.from_ms,
                      .to_ms = q.to_ms,
                      .bucket_ms = q.bucket_ms,
                      .by_country = q.by_country ? 1 : 0,
                      .idempotency_key = str(q.idempotency_key)};
  setCode(out.currency, q.currency);
  return out;
}

// The ABI's view of a hold request; borrows r's strings.
tg_hold_request holdRequest(const HoldRequest& r) {
  tg_hold_request req{.struct_size = sizeof(tg_hold_request),
                      .action = r.action,
                      .currency = {},
                      .hold_id = str(r.hold_id),
                      .amount_micros = r.amount_micros,
                      .kind = r.kind,
                      .reference = str(r.reference),
                      .description = str(r.description),
                      .expires_at_ms = r.expires_at_ms,
                      .now_ms = r.now_ms,
                      .country = {}};
  setCode(req.currency, r.currency);
  setCode(req.country, r.country);
  return req;
}

}  // namespace

HoldResult Store::applyHold(std::string_view tenant_id, const HoldRequest& r) {
  TG_STORE_REQUIRE_14(hold_apply);
  const tg_hold_request req = holdRequest(r);
  tg_hold_result out{};
  out.struct_size = sizeof(out);
  invoke("hold_apply", tenant_id,
         [&](auto* c, auto* e) { return vt_->hold_apply(plugin_.instance(), c, &req, &out, e); });
  // A reserve lowers the available balance; a capture or release never does.
  if (r.action == TG_HOLD_RESERVE && out.outcome == TG_APPLY_APPLIED && on_spend_) {
    on_spend_(tenant_id);
  }
  return HoldResult{.outcome = out.outcome,
                    .status = out.status,
                    .balance_micros = out.balance_micros,
                    .held_micros = out.held_micros,
                    .captured_micros = out.captured_micros,
                    .entry_seq = out.entry_seq};
}

std::vector<Hold> Store::holds(std::string_view tenant_id, const HoldQuery& q) {
  TG_STORE_REQUIRE_14(hold_list);
  tg_hold_query query{.struct_size = sizeof(tg_hold_query),
                      .currency = {},
                      .status = q.status,
                      .hold_id = str(q.hold_id),
                      .after_id = str(q.after_id),
                      .limit = q.limit};
  setCode(query.currency, q.currency);
  HoldRows rows;
  invoke("hold_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->hold_list(plugin_.instance(), c, &query, {&rows, HoldRows::fn}, e);
  });
  return std::move(rows.rows);
}

uint32_t Store::expireHolds(std::string_view tenant_id, int64_t now_ms, uint32_t limit) {
  TG_STORE_REQUIRE_14(hold_expire);
  uint32_t expired = 0;
  invoke("hold_expire", tenant_id, [&](auto* c, auto* e) {
    return vt_->hold_expire(plugin_.instance(), c, now_ms, limit, &expired, e);
  });
  return expired;
}

std::vector<LedgerEntry> Store::queryLedger(std::string_view tenant_id, const LedgerQuery& q) {
  TG_STORE_REQUIRE_14(ledger_query);
  if (!q.idempotency_key.empty() && !abi13()) {
    throw StorageError(TG_ERR_UNSUPPORTED,
                       "storage plugin before ABI 1.13: the ledger is not queried by key");
  }
  const tg_ledger_query query = ledgerQueryOf(q);
  EntryRows rows;
  invoke("ledger_query", tenant_id, [&](auto* c, auto* e) {
    return vt_->ledger_query(plugin_.instance(), c, &query, {&rows, EntryRows::fn}, e);
  });
  return std::move(rows.rows);
}

std::vector<SummaryRow> Store::summarizeLedger(std::string_view tenant_id, const LedgerQuery& q) {
  TG_STORE_REQUIRE_14(ledger_summary);
  const tg_ledger_query query = ledgerQueryOf(q);
  SummaryRows rows;
  invoke("ledger_summary", tenant_id, [&](auto* c, auto* e) {
    return vt_->ledger_summary(plugin_.instance(), c, &query, {&rows, SummaryRows::fn}, e);
  });
  return std::move(rows.rows);
}

#undef TG_STORE_REQUIRE_14

std::optional<IdempotencyRecord> Store::claimIdempotency(const IdempotencyRecord& r) {
  const tg_idempotency_row row = idempotencyRow(r);
  IdemRows rows;
  int32_t claimed = 0;
  invoke("idempotency_claim", r.tenant_id, [&](auto* c, auto* e) {
    return vt_->idempotency_claim(plugin_.instance(), c, &row, &claimed, {&rows, IdemRows::fn}, e);
  });
  if (claimed != 0) return std::nullopt;
  if (rows.rows.empty()) {
    throw StorageError(TG_ERR_INTERNAL,
                       "storage idempotency_claim: not claimed but no row returned");
  }
  return std::move(rows.rows.front());
}

void Store::completeIdempotency(std::string_view tenant_id, std::string_view scope,
                                std::string_view key, int32_t response_status,
                                std::string_view response_body) {
  invoke("idempotency_complete", tenant_id, [&](auto* c, auto* e) {
    return vt_->idempotency_complete(plugin_.instance(), c, str(scope), str(key), response_status,
                                     str(response_body), e);
  });
}

std::optional<bool> Store::reclaimIdempotency(std::string_view tenant_id, std::string_view scope,
                                              std::string_view key, int64_t expected_ms,
                                              int64_t new_ms) {
  if (!TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, idempotency_reclaim) ||
      vt_->idempotency_reclaim == nullptr) {
    return std::nullopt;
  }
  int32_t reclaimed = 0;
  try {
    invoke("idempotency_reclaim", tenant_id, [&](auto* c, auto* e) {
      return vt_->idempotency_reclaim(plugin_.instance(), c, str(scope), str(key), expected_ms,
                                      new_ms, &reclaimed, e);
    });
  } catch (const StorageError& e) {
    if (e.status() == TG_ERR_UNSUPPORTED) return std::nullopt;
    throw;
  }
  return reclaimed != 0;
}

// ---- ABI 1.1 ----

const plugins::CallbackSlot* Store::missingCallback() const {
  return plugins::firstMissing(TG_KIND_STORAGE, vt_, kNeededMinor);
}

// ---- ABI 1.6: billing profiles ----

#define TG_STORE_REQUIRE_16(field)                                                                \
  do {                                                                                            \
    if (!TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, field) || vt_->field == nullptr)       \
      throw StorageError(TG_ERR_UNSUPPORTED, "storage plugin lacks " #field                       \
                                             " (ABI 1.6): billing profiles and auto-recharge "    \
                                             "need a storage plugin built for ABI 1.6 or later"); \
  } while (0)

bool Store::hasBillingProfiles() const {
  return TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, recharge_end) &&
         vt_->billing_profile_put != nullptr && vt_->billing_profile_get != nullptr &&
         vt_->recharge_begin != nullptr && vt_->recharge_end != nullptr;
}

void Store::putBillingProfile(const BillingProfile& p) {
  TG_STORE_REQUIRE_16(billing_profile_put);
  tg_billing_profile_row row{.struct_size = sizeof(tg_billing_profile_row),
                             .currency = {},
                             .tenant_id = str(p.tenant_id),
                             .provider = str(p.provider),
                             .customer_ref = str(p.customer_ref),
                             .recharge_threshold_micros = p.recharge_threshold_micros,
                             .recharge_amount_micros = p.recharge_amount_micros,
                             .recharge_in_flight = 0,
                             .recharge_failures = 0,

                             .recharge_started_at_ms = 0,
                             .recharge_retry_at_ms = 0,
                             .recharge_last_error = {},
                             .created_at_ms = p.created_at_ms,
                             .updated_at_ms = p.updated_at_ms};
  setCode(row.currency, p.currency);
  invoke("billing_profile_put", p.tenant_id, [&](auto* c, auto* e) {
    return vt_->billing_profile_put(plugin_.instance(), c, &row, e);
  });
}

std::optional<BillingProfile> Store::billingProfile(std::string_view tenant_id,
                                                    std::string_view currency) {
  TG_STORE_REQUIRE_16(billing_profile_get);
  char cur[4] = {};
  setCode(cur, currency);
  return optionalOne<ProfileRows>(
      "billing_profile_get", tenant_id, [&](auto* c, auto* e, ProfileRows& r) {
        return vt_->billing_profile_get(plugin_.instance(), c, cur, {&r, ProfileRows::fn}, e);
      });
}

int64_t Store::beginRecharge(std::string_view tenant_id, std::string_view currency, int64_t now_ms,
                             int64_t lease_ms) {
  TG_STORE_REQUIRE_16(recharge_begin);
  char cur[4] = {};
  setCode(cur, currency);
  int64_t started = 0;
  invoke("recharge_begin", tenant_id, [&](auto* c, auto* e) {
    return vt_->recharge_begin(plugin_.instance(), c, cur, now_ms, lease_ms, &started, e);
  });
  return started;
}

bool Store::endRecharge(std::string_view tenant_id, const RechargeEnd& r) {
  TG_STORE_REQUIRE_16(recharge_end);
  tg_recharge_end req{.struct_size = sizeof(tg_recharge_end),
                      .currency = {},
                      .started_at_ms = r.started_at_ms,
                      .failed = r.failed ? 1 : 0,
                      .error = str(r.error),
                      .retry_at_ms = r.retry_at_ms,
                      .now_ms = r.now_ms};
  setCode(req.currency, r.currency);
  int32_t ended = 0;
  invoke("recharge_end", tenant_id, [&](auto* c, auto* e) {
    return vt_->recharge_end(plugin_.instance(), c, &req, &ended, e);
  });
  return ended != 0;
}

// ---- ABI 1.7: queued usage ----

namespace {
tg_usage_row usageRow(const Usage& u) {
  tg_usage_row row{.struct_size = sizeof(tg_usage_row),
                   .tenant_id = str(u.tenant_id),
                   .key = str(u.key),
                   .currency = {},
                   .product = u.product,
                   .sid = str(u.sid),
                   .number = str(u.number),
                   .counterpart = str(u.counterpart),
                   .quantity = u.quantity,
                   .created_at_ms = u.created_at_ms};
  setCode(row.currency, u.currency);
  return row;
}
}  // namespace

bool Store::queuesUsage() const {
  return TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, usage_settle) &&
         vt_->usage_list != nullptr && vt_->usage_settle != nullptr && appliesUnits();
}

std::vector<Usage> Store::queuedUsage(uint32_t limit) {
  if (!queuesUsage()) return {};
  UsageRows rows;
  invoke("usage_list", "", [&](auto* c, auto* e) {
    return vt_->usage_list(plugin_.instance(), c, limit, {&rows, UsageRows::fn}, e);
  });
  return std::move(rows.rows);
}

std::vector<tg_status> Store::settleUsage(const std::vector<UsageCharge>& charges) {
  if (charges.empty()) return {};
  if (!queuesUsage()) {
    throw StorageError(TG_ERR_UNSUPPORTED,
                       "storage plugin lacks usage_settle (ABI 1.7): queued usage needs a "
                       "storage plugin built for ABI 1.7 or later");
  }
  std::vector<tg_usage_charge> in;
  in.reserve(charges.size());
  for (const UsageCharge& c : charges) {
    tg_usage_charge& out = in.emplace_back(tg_usage_charge{.struct_size = sizeof(tg_usage_charge),
                                                           .tenant_id = str(c.tenant_id),
                                                           .key = str(c.key),
                                                           .currency = {},
                                                           .amount_micros = c.amount_micros,
                                                           .kind = c.kind,
                                                           .reference = str(c.reference),
                                                           .description = str(c.description),
                                                           .country = {},
                                                           .now_ms = c.now_ms});
    setCode(out.currency, c.currency);
    setCode(out.country, c.country);
  }
  std::vector<tg_status> statuses(charges.size(), TG_ERR_INTERNAL);
  invoke("usage_settle", "", [&](auto* c, auto* e) {
    return vt_->usage_settle(plugin_.instance(), c, in.data(), static_cast<uint32_t>(in.size()),
                             statuses.data(), e);
  });
  if (on_spend_) {
    std::string last;  // each tenant charged once, as the batch lists them
    for (size_t i = 0; i < charges.size(); ++i) {
      if (statuses[i] != TG_OK || charges[i].amount_micros <= 0) continue;
      if (charges[i].tenant_id == last) continue;
      last = charges[i].tenant_id;
      on_spend_(last);
    }
  }
  return statuses;
}

// ---- ABI 1.8: the outbox ----

namespace {
tg_outbox_row outboxRow(const OutboxMessage& m) {
  tg_outbox_row row{.struct_size = sizeof(tg_outbox_row),
                    .id = str(m.id),
                    .tenant_id = str(m.tenant_id),
                    .from_number = str(m.from_number),
                    .to_number = str(m.to_number),
                    .body = str(m.body),
                    .media_urls = str(m.media_urls),
                    .status_callback = str(m.status_callback),
                    .segments = m.segments,
                    .currency = {},
                    .hold_id = str(m.hold_id),
                    .state = m.state,
                    .attempts = m.attempts,
                    .next_attempt_at_ms = m.next_attempt_at_ms,
                    .lease_owner = str(m.lease_owner),
                    .lease_until_ms = m.lease_until_ms,
                    .twilio_sid = str(m.twilio_sid),
                    .twilio_status = str(m.twilio_status),
                    .status_rank = m.status_rank,
                    .error_code = m.error_code,
                    .error = str(m.error),
                    .created_at_ms = m.created_at_ms,
                    .updated_at_ms = m.updated_at_ms,
                    .pace_us = m.pace_us,
                    .estimate_micros = m.estimate_micros,
                    .price_state = m.price_state,
                    .price_micros = m.price_micros,
                    .price_check_at_ms = m.price_check_at_ms};
  setCode(row.currency, m.currency);
  return row;
}

tg_outbox_transition transitionRow(const OutboxTransition& t) {
  return tg_outbox_transition{.struct_size = sizeof(tg_outbox_transition),
                              .tenant_id = str(t.tenant_id),
                              .id = str(t.id),
                              .from_states = t.from_states,
                              .lease_owner = str(t.lease_owner),
                              .to_state = t.to_state,
                              .twilio_sid = str(t.twilio_sid),
                              .twilio_status = str(t.twilio_status),
                              .status_rank = t.status_rank,
                              .error_code = t.error_code,
                              .error = str(t.error),
                              .next_attempt_at_ms = t.next_attempt_at_ms,
                              .now_ms = t.now_ms,
                              .price_state = t.price_state,
                              .price_micros = t.price_micros,
                              .price_check_at_ms = t.price_check_at_ms};
}
}  // namespace

#define TG_STORE_REQUIRE_18(field)                                                            \
  do {                                                                                        \
    if (!TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, field) || vt_->field == nullptr)   \
      throw StorageError(TG_ERR_UNSUPPORTED, "storage plugin lacks " #field                   \
                                             " (ABI 1.8): the outbox needs a storage plugin " \
                                             "built for ABI 1.8 or later");                   \
  } while (0)

bool Store::hasOutbox() const {
  return TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, outbox_list) &&
         vt_->outbox_claim != nullptr && vt_->outbox_transition != nullptr &&
         vt_->outbox_reclaim != nullptr && vt_->outbox_get != nullptr &&
         vt_->outbox_list != nullptr && appliesUnits();
}

bool Store::takesOutboxStatus() const { return hasOutbox() && plugin_.abiMinor() >= 9; }

bool Store::abi13() const {
  return TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, call_price_set) &&
         vt_->call_price_due != nullptr && vt_->call_price_set != nullptr &&
         plugin_.abiMinor() >= 13;
}

// The price state travels with a call's status in a unit (TG_UNIT_CALL_STATUS) only.
bool Store::pricesCalls() const { return abi13() && appliesUnits(); }

std::vector<Call> Store::callPriceDue(int64_t now_ms, uint32_t limit) {
  if (!pricesCalls()) {
    throw StorageError(
        TG_ERR_UNSUPPORTED,
        "storage plugin lacks call_price_due (ABI 1.13): calls' prices are not kept");
  }
  CallRows rows;
  invoke("call_price_due", "", [&](auto* c, auto* e) {
    return vt_->call_price_due(plugin_.instance(), c, now_ms, limit, {&rows, CallRows::fn}, e);
  });
  return std::move(rows.rows);
}

bool Store::setCallPrice(std::string_view tenant_id, const CallPrice& p) {
  if (!pricesCalls()) {
    throw StorageError(
        TG_ERR_UNSUPPORTED,
        "storage plugin lacks call_price_set (ABI 1.13): calls' prices are not kept");
  }
  const tg_call_price price{.struct_size = sizeof(tg_call_price),
                            .sid = str(p.sid),
                            .price_state = p.price_state,
                            .charged_micros = p.charged_micros,
                            .price_micros = p.price_micros,
                            .price_check_at_ms = p.price_check_at_ms,
                            .now_ms = p.now_ms};
  int32_t applied = 0;
  invoke("call_price_set", tenant_id, [&](auto* c, auto* e) {
    return vt_->call_price_set(plugin_.instance(), c, &price, &applied, e);
  });
  return applied != 0;
}

bool Store::settlesHoldsInUnits() const {
  return appliesUnits() && TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, hold_apply) &&
         vt_->hold_apply != nullptr && plugin_.abiMinor() >= 12;
}

bool Store::pricesMessages() const {
  return hasOutbox() && TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, outbox_price_due) &&
         vt_->outbox_price_due != nullptr && plugin_.abiMinor() >= 11;
}

std::vector<OutboxMessage> Store::outboxPriceDue(int64_t now_ms, uint32_t limit) {
  if (!pricesMessages()) {
    throw StorageError(TG_ERR_UNSUPPORTED,
                       "storage plugin lacks outbox_price_due (ABI 1.11): messages' prices are "
                       "not kept");
  }
  OutboxRows rows;
  invoke("outbox_price_due", "", [&](auto* c, auto* e) {
    return vt_->outbox_price_due(plugin_.instance(), c, now_ms, limit, {&rows, OutboxRows::fn}, e);
  });
  return std::move(rows.rows);
}

bool Store::pacesSenders() const {
  return hasOutbox() && TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, outbox_claim_paced) &&
         vt_->outbox_claim_paced != nullptr && plugin_.abiMinor() >= 10;
}

std::vector<OutboxMessage> Store::claimOutbox(int64_t now_ms, int64_t lease_ms,
                                              std::string_view owner, uint32_t limit,
                                              int64_t pace_window_ms) {
  TG_STORE_REQUIRE_18(outbox_claim);
  OutboxRows rows;
  if (pacesSenders()) {
    const tg_outbox_claim claim{.struct_size = sizeof(tg_outbox_claim),
                                .now_ms = now_ms,
                                .lease_ms = lease_ms,
                                .owner = str(owner),
                                .limit = limit,
                                .pace_window_ms = pace_window_ms};
    invoke("outbox_claim_paced", "", [&](auto* c, auto* e) {
      return vt_->outbox_claim_paced(plugin_.instance(), c, &claim, {&rows, OutboxRows::fn}, e);
    });
    return std::move(rows.rows);
  }
  invoke("outbox_claim", "", [&](auto* c, auto* e) {
    return vt_->outbox_claim(plugin_.instance(), c, now_ms, lease_ms, str(owner), limit,
                             {&rows, OutboxRows::fn}, e);
  });
  return std::move(rows.rows);
}

std::vector<bool> Store::transitionOutbox(const std::vector<OutboxTransition>& transitions) {
  if (transitions.empty()) return {};
  TG_STORE_REQUIRE_18(outbox_transition);
  std::vector<tg_outbox_transition> in;
  in.reserve(transitions.size());
  for (const OutboxTransition& t : transitions) in.push_back(transitionRow(t));
  std::vector<int32_t> applied(in.size(), 0);
  invoke("outbox_transition", "", [&](auto* c, auto* e) {
    return vt_->outbox_transition(plugin_.instance(), c, in.data(),
                                  static_cast<uint32_t>(in.size()), applied.data(), e);
  });
  std::vector<bool> out;
  out.reserve(applied.size());
  for (const int32_t a : applied) out.push_back(a != 0);
  return out;
}

uint32_t Store::reclaimOutbox(int64_t now_ms, uint32_t limit) {
  TG_STORE_REQUIRE_18(outbox_reclaim);
  uint32_t n = 0;
  invoke("outbox_reclaim", "", [&](auto* c, auto* e) {
    return vt_->outbox_reclaim(plugin_.instance(), c, now_ms, limit, &n, e);
  });
  return n;
}

std::optional<OutboxMessage> Store::outboxMessage(std::string_view tenant_id, std::string_view id) {
  TG_STORE_REQUIRE_18(outbox_get);
  return optionalOne<OutboxRows>("outbox_get", tenant_id, [&](auto* c, auto* e, OutboxRows& r) {
    return vt_->outbox_get(plugin_.instance(), c, str(id), {&r, OutboxRows::fn}, e);
  });
}

std::vector<OutboxMessage> Store::outboxMessages(std::string_view tenant_id, tg_outbox_state state,
                                                 uint32_t limit) {
  TG_STORE_REQUIRE_18(outbox_list);
  OutboxRows rows;
  invoke("outbox_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->outbox_list(plugin_.instance(), c, state, limit, {&rows, OutboxRows::fn}, e);
  });
  return std::move(rows.rows);
}

template <class Rows, class Fn>
auto Store::optionalOne(std::string_view op, std::string_view tenant_id, Fn&& fn)
    -> std::optional<typename decltype(Rows::rows)::value_type> {
  Rows rows;
  try {
    invoke(op, tenant_id, [&](auto* c, auto* e) { return fn(c, e, rows); });
  } catch (const StorageError& e) {
    if (e.status() == TG_ERR_NOT_FOUND) return std::nullopt;
    throw;
  }
  return first(rows.rows);
}

void Store::putNumber(const Number& n) {
  const tg_number_row row{sizeof(row),        str(n.e164),          str(n.tenant_id),
                          str(n.account_sid), str(n.twilio_sid),    str(n.voice_plugin),
                          str(n.sms_plugin),  str(n.settings_json), n.created_at_ms,
                          n.updated_at_ms};
  invoke("number_put", n.tenant_id,
         [&](auto* c, auto* e) { return vt_->number_put(plugin_.instance(), c, &row, e); });
}

std::optional<Number> Store::number(std::string_view tenant_id, std::string_view e164) {
  return optionalOne<NumberRows>("number_get", tenant_id, [&](auto* c, auto* e, NumberRows& r) {
    return vt_->number_get(plugin_.instance(), c, str(e164), {&r, NumberRows::fn}, e);
  });
}

std::vector<Number> Store::numbers(std::string_view tenant_id) {
  NumberRows rows;
  invoke("number_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->number_list(plugin_.instance(), c, {&rows, NumberRows::fn}, e);
  });
  return std::move(rows.rows);
}

void Store::detachNumber(std::string_view tenant_id, std::string_view e164) {
  invoke("number_detach", tenant_id,
         [&](auto* c, auto* e) { return vt_->number_detach(plugin_.instance(), c, str(e164), e); });
}

void Store::putTwilioAccount(const TwilioAccount& a) {
  const tg_twilio_account_row row{
      sizeof(row),          str(a.account_sid),      str(a.tenant_id), str(a.auth_token_enc),
      str(a.friendly_name), a.is_subaccount ? 1 : 0, a.created_at_ms};
  invoke("twilio_account_put", a.tenant_id,
         [&](auto* c, auto* e) { return vt_->twilio_account_put(plugin_.instance(), c, &row, e); });
}

std::optional<TwilioAccount> Store::twilioAccount(std::string_view tenant_id,
                                                  std::string_view sid) {
  return optionalOne<AccountRows>(
      "twilio_account_get", tenant_id, [&](auto* c, auto* e, AccountRows& r) {
        return vt_->twilio_account_get(plugin_.instance(), c, str(sid), {&r, AccountRows::fn}, e);
      });
}

void Store::insertMessage(const Message& m) {
  const tg_message_row row = messageRow(m);
  invoke("message_insert", m.tenant_id,
         [&](auto* c, auto* e) { return vt_->message_insert(plugin_.instance(), c, &row, e); });
}

bool Store::updateMessageStatus(std::string_view tenant_id, std::string_view sid,
                                std::string_view status, int32_t rank, int32_t error_code,
                                int64_t now_ms) {
  int32_t applied = 0;
  invoke("message_update_status", tenant_id, [&](auto* c, auto* e) {
    return vt_->message_update_status(plugin_.instance(), c, str(sid), str(status), rank,
                                      error_code, now_ms, &applied, e);
  });
  return applied != 0;
}

std::optional<Message> Store::message(std::string_view tenant_id, std::string_view sid) {
  return optionalOne<MessageRows>("message_get", tenant_id, [&](auto* c, auto* e, MessageRows& r) {
    return vt_->message_get(plugin_.instance(), c, str(sid), {&r, MessageRows::fn}, e);
  });
}

namespace {
tg_log_query toQuery(const LogQuery& q) {
  return tg_log_query{sizeof(tg_log_query), q.from_ms,   q.to_ms,           str(q.status),
                      str(q.number),        q.before_ms, str(q.before_sid), q.limit};
}
}  // namespace

std::vector<Message> Store::messages(std::string_view tenant_id, const LogQuery& q) {
  MessageRows rows;
  const tg_log_query query = toQuery(q);
  invoke("message_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->message_list(plugin_.instance(), c, &query, {&rows, MessageRows::fn}, e);
  });
  return std::move(rows.rows);
}

void Store::insertCall(const Call& k) {
  const tg_call_row row = callRow(k);
  invoke("call_insert", k.tenant_id,
         [&](auto* c, auto* e) { return vt_->call_insert(plugin_.instance(), c, &row, e); });
}

bool Store::updateCallStatus(std::string_view tenant_id, std::string_view sid,
                             std::string_view status, int32_t rank, int32_t duration_s,
                             int64_t now_ms) {
  int32_t applied = 0;
  invoke("call_update_status", tenant_id, [&](auto* c, auto* e) {
    return vt_->call_update_status(plugin_.instance(), c, str(sid), str(status), rank, duration_s,
                                   now_ms, &applied, e);
  });
  return applied != 0;
}

void Store::setCallRecording(std::string_view tenant_id, std::string_view sid, std::string_view url,
                             int64_t now_ms) {
  invoke("call_set_recording", tenant_id, [&](auto* c, auto* e) {
    return vt_->call_set_recording(plugin_.instance(), c, str(sid), str(url), now_ms, e);
  });
}

std::optional<Call> Store::call(std::string_view tenant_id, std::string_view sid) {
  return optionalOne<CallRows>("call_get", tenant_id, [&](auto* c, auto* e, CallRows& r) {
    return vt_->call_get(plugin_.instance(), c, str(sid), {&r, CallRows::fn}, e);
  });
}

std::vector<Call> Store::calls(std::string_view tenant_id, const LogQuery& q) {
  CallRows rows;
  const tg_log_query query = toQuery(q);
  invoke("call_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->call_list(plugin_.instance(), c, &query, {&rows, CallRows::fn}, e);
  });
  return std::move(rows.rows);
}

void Store::setOptOut(std::string_view tenant_id, std::string_view phone, bool opted_out,
                      std::string_view keyword, std::string_view message_sid, int64_t now_ms) {
  invoke("optout_set", tenant_id, [&](auto* c, auto* e) {
    return vt_->optout_set(plugin_.instance(), c, str(phone), opted_out ? 1 : 0, str(keyword),
                           str(message_sid), now_ms, e);
  });
}

bool Store::optedOut(std::string_view tenant_id, std::string_view phone) {
  int32_t out = 0;
  invoke("optout_get", tenant_id, [&](auto* c, auto* e) {
    return vt_->optout_get(plugin_.instance(), c, str(phone), &out, e);
  });
  return out != 0;
}

// ---- ABI 1.3: units of work ----

bool Store::appliesUnits() const {
  return TG_HAS_FIELD(tg_storage_vtable, vt_->struct_size, unit_apply) &&
         vt_->unit_apply != nullptr && !units_unsupported_.load(std::memory_order_relaxed);
}

UnitResult Store::apply(const Unit& unit) {
  if (unit.empty()) return {};
  if (!appliesUnits()) return applyEach(unit);

  // The ABI's view of the unit: each op's args struct borrows the unit's strings. Deques keep
  // the addresses of what they hold.
  std::deque<std::variant<tg_idempotency_row, tg_idempotency_completion, tg_message_row,
                          tg_call_row, tg_status_change, tg_recording_change, tg_optout_change,
                          tg_usage_row, tg_outbox_row, tg_outbox_transition, tg_hold_request>>
      args;
  UnitResult result;
  result.results.assign(unit.ops().size(), TG_UNIT_UNCHANGED);
  std::vector<tg_unit_op> ops;
  ops.reserve(unit.ops().size());
  for (size_t i = 0; i < unit.ops().size(); ++i) {
    const Unit::Op& op = unit.ops()[i];
    const void* p = std::visit(
        [&](const auto& a) -> const void* {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, IdempotencyRecord>) {
            return &std::get<tg_idempotency_row>(args.emplace_back(idempotencyRow(a)));
          } else if constexpr (std::is_same_v<A, Completion>) {
            return &std::get<tg_idempotency_completion>(args.emplace_back(
                tg_idempotency_completion{.struct_size = sizeof(tg_idempotency_completion),
                                          .scope = str(a.scope),
                                          .key = str(a.key),
                                          .response_status = a.response_status,
                                          .response_body = str(a.response_body),
                                          .reply_to = str(a.reply_to),
                                          .no_reply_body = str(a.no_reply_body)}));
          } else if constexpr (std::is_same_v<A, Message>) {
            return &std::get<tg_message_row>(args.emplace_back(messageRow(a)));
          } else if constexpr (std::is_same_v<A, Call>) {
            return &std::get<tg_call_row>(args.emplace_back(callRow(a)));
          } else if constexpr (std::is_same_v<A, StatusChange>) {
            return &std::get<tg_status_change>(
                args.emplace_back(tg_status_change{.struct_size = sizeof(tg_status_change),
                                                   .sid = str(a.sid),
                                                   .status = str(a.status),
                                                   .status_rank = a.status_rank,
                                                   .error_code = a.error_code,
                                                   .duration_s = a.duration_s,
                                                   .now_ms = a.now_ms,
                                                   .price_state = a.price_state,
                                                   .price_check_at_ms = a.price_check_at_ms}));
          } else if constexpr (std::is_same_v<A, RecordingChange>) {
            return &std::get<tg_recording_change>(
                args.emplace_back(tg_recording_change{.struct_size = sizeof(tg_recording_change),
                                                      .sid = str(a.sid),
                                                      .recording_url = str(a.recording_url),
                                                      .now_ms = a.now_ms}));
          } else if constexpr (std::is_same_v<A, Usage>) {
            return &std::get<tg_usage_row>(args.emplace_back(usageRow(a)));
          } else if constexpr (std::is_same_v<A, OutboxMessage>) {
            return &std::get<tg_outbox_row>(args.emplace_back(outboxRow(a)));
          } else if constexpr (std::is_same_v<A, OutboxTransition>) {
            return &std::get<tg_outbox_transition>(args.emplace_back(transitionRow(a)));
          } else if constexpr (std::is_same_v<A, HoldRequest>) {
            return &std::get<tg_hold_request>(args.emplace_back(holdRequest(a)));
          } else {
            return &std::get<tg_optout_change>(
                args.emplace_back(tg_optout_change{.struct_size = sizeof(tg_optout_change),
                                                   .phone = str(a.phone),
                                                   .opted_out = a.opted_out ? 1 : 0,
                                                   .keyword = str(a.keyword),
                                                   .message_sid = str(a.message_sid),
                                                   .now_ms = a.now_ms}));
          }
        },
        op.args);
    ops.push_back(tg_unit_op{.struct_size = sizeof(tg_unit_op),
                             .kind = op.kind,
                             .args = p,
                             .out_result = &result.results[i]});
  }
  const tg_unit abi{.struct_size = sizeof(tg_unit), .ops = ops.data(), .op_count = ops.size()};
  tg_unit_outcome outcome = 0;
  IdemRows existing;
  try {
    invoke("unit_apply", unit.tenantId(), [&](auto* c, auto* e) {
      return vt_->unit_apply(plugin_.instance(), c, &abi, &outcome, {&existing, IdemRows::fn}, e);
    });
  } catch (const StorageError& e) {
    if (e.status() != TG_ERR_UNSUPPORTED) throw;
    units_unsupported_.store(true, std::memory_order_relaxed);
    return applyEach(unit);
  }
  if (outcome == TG_UNIT_DUPLICATE) {
    if (existing.rows.empty()) {
      throw StorageError(TG_ERR_INTERNAL, "storage unit_apply: duplicate but no record returned");
    }
    result.duplicate = true;
    result.existing = std::move(existing.rows.front());
  } else if (outcome != TG_UNIT_APPLIED) {
    throw StorageError(TG_ERR_INTERNAL,
                       fmt::format("storage unit_apply: unknown outcome {}", outcome));
  }
  return result;
}

// For a plugin without unit_apply: each operation its own call, with the unit's semantics for
// rows that exist or are missing.
UnitResult Store::applyEach(const Unit& unit) {
  UnitResult result;
  result.results.assign(unit.ops().size(), TG_UNIT_UNCHANGED);
  const std::string& tenant = unit.tenantId();
  // The claim first, whatever its place: nothing else may be written for a duplicate.
  const IdempotencyRecord* claim = nullptr;
  for (const Unit::Op& op : unit.ops()) {
    if (op.kind != TG_UNIT_CLAIM) continue;
    claim = &std::get<IdempotencyRecord>(op.args);
    if (auto existing = claimIdempotency(*claim)) {
      result.duplicate = true;
      result.existing = std::move(existing);
      return result;
    }
  }
  try {
    applyEachAfterClaim(unit, result);
  } catch (...) {
    // What was written stays (it tolerates a repeat); the claim is released so that the retry
    // does it again at once.
    if (claim != nullptr) {
      try {
        reclaimIdempotency(tenant, claim->scope, claim->key, claim->created_at_ms, 0);
      } catch (const std::exception&) {  // abandoned after its timeout anyway
      }
    }
    throw;
  }
  return result;
}

void Store::applyEachAfterClaim(const Unit& unit, UnitResult& result) {
  const std::string& tenant = unit.tenantId();
  auto changedUnlessExists = [](auto&& write) {
    try {
      write();
      return TG_UNIT_CHANGED;
    } catch (const StorageError& e) {
      if (e.status() != TG_ERR_CONFLICT) throw;
      return TG_UNIT_UNCHANGED;
    }
  };
  auto missingIfNotFound = [](auto&& write) -> int32_t {
    try {
      return write() ? TG_UNIT_CHANGED : TG_UNIT_UNCHANGED;
    } catch (const StorageError& e) {
      if (e.status() != TG_ERR_NOT_FOUND) throw;
      return TG_UNIT_MISSING;
    }
  };
  for (size_t i = 0; i < unit.ops().size(); ++i) {
    const Unit::Op& op = unit.ops()[i];
    int32_t& out = result.results[i];
    switch (op.kind) {
      case TG_UNIT_CLAIM:
        out = TG_UNIT_CHANGED;
        break;
      case TG_UNIT_COMPLETE: {
        const auto& c = std::get<Completion>(op.args);
        const bool withheld = !c.reply_to.empty() && optedOut(tenant, c.reply_to);
        completeIdempotency(tenant, c.scope, c.key, c.response_status,
                            withheld ? c.no_reply_body : c.response_body);
        out = withheld ? TG_UNIT_NO_REPLY : TG_UNIT_CHANGED;
        break;
      }
      case TG_UNIT_MESSAGE_INSERT:
        out = changedUnlessExists([&] { insertMessage(std::get<Message>(op.args)); });
        break;
      case TG_UNIT_CALL_INSERT:
        out = changedUnlessExists([&] { insertCall(std::get<Call>(op.args)); });
        break;
      case TG_UNIT_MESSAGE_STATUS: {
        const auto& c = std::get<StatusChange>(op.args);
        out = missingIfNotFound([&] {
          return updateMessageStatus(tenant, c.sid, c.status, c.status_rank, c.error_code,
                                     c.now_ms);
        });
        break;
      }
      case TG_UNIT_CALL_STATUS: {
        const auto& c = std::get<StatusChange>(op.args);
        out = missingIfNotFound([&] {
          return updateCallStatus(tenant, c.sid, c.status, c.status_rank, c.duration_s, c.now_ms);
        });
        break;
      }
      case TG_UNIT_CALL_RECORDING: {
        const auto& c = std::get<RecordingChange>(op.args);
        out = missingIfNotFound([&] {
          setCallRecording(tenant, c.sid, c.recording_url, c.now_ms);
          return true;
        });
        break;
      }
      case TG_UNIT_OPTOUT_SET: {
        const auto& c = std::get<OptOutChange>(op.args);
        setOptOut(tenant, c.phone, c.opted_out, c.keyword, c.message_sid, c.now_ms);
        out = TG_UNIT_CHANGED;
        break;
      }
      case TG_UNIT_USAGE_ADD:
        out = TG_UNIT_MISSING;  // nothing queues it without units: the caller charges it now
        break;
      case TG_UNIT_OUTBOX_ADD:
      case TG_UNIT_OUTBOX_STATUS:
        throw StorageError(TG_ERR_UNSUPPORTED,
                           "the outbox needs a storage plugin with units (ABI 1.3) and the "
                           "outbox (ABI 1.8)");
      case TG_UNIT_HOLD:
        if (std::get<HoldRequest>(op.args).action == TG_HOLD_RESERVE) {
          throw StorageError(TG_ERR_INVALID_ARGUMENT,
                             "unit: a unit captures or releases holds; reserve with hold_apply");
        }
        out = missingIfNotFound([&] {
          return applyHold(tenant, std::get<HoldRequest>(op.args)).outcome == TG_APPLY_APPLIED;
        });
        break;
      default:
        throw StorageError(TG_ERR_INTERNAL, fmt::format("unit: unknown operation {}", op.kind));
    }
  }
}

}  // namespace tollgate::storage
