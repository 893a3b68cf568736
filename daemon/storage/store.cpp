#include "storage/store.hpp"

#include <fmt/format.h>
#include <chrono>
#include <cstring>

#include "plugins/plugin_host.hpp"

namespace tollgate::storage {
namespace {

tg_str str(std::string_view s) { return tg_str{s.data(), s.size()}; }
std::string copy(tg_str s) { return s.size == 0 ? std::string{} : std::string(s.data, s.size); }

void setCode(char (&dst)[4], std::string_view code) {
  std::memset(dst, 0, sizeof dst);
  std::memcpy(dst, code.data(), std::min<size_t>(code.size(), 3));
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sink adapters: each copies the borrowed row into an owned C++ value.
template <class Row, class Out, class Convert>
struct Collector {
  std::vector<Out> rows;
  static void fn(void* ctx, const Row* row) {
    static_cast<Collector*>(ctx)->rows.push_back(Convert{}(*row));
  }
};

struct ToTenant {
  Tenant operator()(const tg_tenant_row& r) const {
    return Tenant{copy(r.id), copy(r.name), r.status, r.created_at_ms};
  }
};
struct ToApiKey {
  ApiKey operator()(const tg_api_key_row& r) const {
    return ApiKey{copy(r.id),    copy(r.tenant_id), copy(r.secret_sha256),
                  copy(r.label), r.created_at_ms,   r.revoked_at_ms};
  }
};
struct ToWallet {
  Wallet operator()(const tg_wallet_row& r) const {
    return Wallet{copy(r.tenant_id), std::string(r.currency, strnlen(r.currency, 4)),
                  r.balance_micros, r.credit_limit_micros, r.created_at_ms};
  }
};
struct ToEntry {
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
  IdempotencyRecord operator()(const tg_idempotency_row& r) const {
    return IdempotencyRecord{copy(r.tenant_id),    copy(r.scope),     copy(r.key),
                             copy(r.request_hash), r.response_status, copy(r.response_body),
                             r.created_at_ms};
  }
};

using TenantRows = Collector<tg_tenant_row, Tenant, ToTenant>;
using KeyRows = Collector<tg_api_key_row, ApiKey, ToApiKey>;
using WalletRows = Collector<tg_wallet_row, Wallet, ToWallet>;
using EntryRows = Collector<tg_ledger_entry_row, LedgerEntry, ToEntry>;
using IdemRows = Collector<tg_idempotency_row, IdempotencyRecord, ToIdem>;

template <class T>
std::optional<T> first(std::vector<T>& rows) {
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

}  // namespace

Store::Store(plugins::Plugin& plugin) : plugin_(plugin), vt_(plugin.vtable<tg_storage_vtable>()) {}

template <class Fn>
void Store::call(std::string_view op, std::string_view tenant_id, Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  tg_call_ctx ctx{sizeof(tg_call_ctx), str(tenant_id), str(op),
                  nowMs() + plugin_.deadline().count()};
  tg_error err{};
  const tg_status st = fn(&ctx, &err);
  plugin_.record(st, std::chrono::steady_clock::now() - start);
  if (st != TG_OK) {
    err.message[sizeof(err.message) - 1] = '\0';
    throw StorageError(st, fmt::format("storage {}: {}", op, err.message));
  }
}

int64_t Store::migrate() {
  int64_t version = 0;
  call("migrate", "",
       [&](auto* c, auto* e) { return vt_->migrate(plugin_.instance(), c, &version, e); });
  return version;
}

void Store::createTenant(const Tenant& t) {
  const tg_tenant_row row{sizeof(row), str(t.id), str(t.name), t.status, t.created_at_ms};
  call("tenant_create", "",
       [&](auto* c, auto* e) { return vt_->tenant_create(plugin_.instance(), c, &row, e); });
}

std::optional<Tenant> Store::tenant(std::string_view id) {
  TenantRows rows;
  try {
    call("tenant_get", id, [&](auto* c, auto* e) {
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
  call("tenant_list", "", [&](auto* c, auto* e) {
    return vt_->tenant_list(plugin_.instance(), c, str(after_id), limit, {&rows, TenantRows::fn},
                            e);
  });
  return std::move(rows.rows);
}

void Store::setTenantStatus(std::string_view id, tg_tenant_status status) {
  call("tenant_set_status", id, [&](auto* c, auto* e) {
    return vt_->tenant_set_status(plugin_.instance(), c, str(id), status, e);
  });
}

void Store::createApiKey(const ApiKey& k) {
  const tg_api_key_row row{sizeof(row),  str(k.id),       str(k.tenant_id), str(k.secret_sha256),
                           str(k.label), k.created_at_ms, k.revoked_at_ms};
  call("api_key_create", k.tenant_id,
       [&](auto* c, auto* e) { return vt_->api_key_create(plugin_.instance(), c, &row, e); });
}

std::optional<ApiKey> Store::apiKey(std::string_view key_id) {
  KeyRows rows;
  try {
    call("api_key_get", "", [&](auto* c, auto* e) {
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
  call("api_key_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->api_key_list(plugin_.instance(), c, {&rows, KeyRows::fn}, e);
  });
  return std::move(rows.rows);
}

void Store::revokeApiKey(std::string_view tenant_id, std::string_view key_id, int64_t at_ms) {
  call("api_key_revoke", tenant_id, [&](auto* c, auto* e) {
    return vt_->api_key_revoke(plugin_.instance(), c, str(key_id), at_ms, e);
  });
}

void Store::createWallet(const Wallet& w) {
  tg_wallet_row row{sizeof(row),      str(w.tenant_id),      {},
                    w.balance_micros, w.credit_limit_micros, w.created_at_ms};
  setCode(row.currency, w.currency);
  call("wallet_create", w.tenant_id,
       [&](auto* c, auto* e) { return vt_->wallet_create(plugin_.instance(), c, &row, e); });
}

std::optional<Wallet> Store::wallet(std::string_view tenant_id, std::string_view currency) {
  WalletRows rows;
  char cur[4];
  setCode(cur, currency);
  try {
    call("wallet_get", tenant_id, [&](auto* c, auto* e) {
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
                               const std::vector<LedgerEntryIn>& entries, int64_t now_ms) {
  std::vector<tg_ledger_entry_in> in;
  in.reserve(entries.size());
  for (const auto& e : entries) {
    in.push_back({sizeof(tg_ledger_entry_in), e.kind, e.amount_micros, str(e.reference),
                  str(e.description)});
  }
  tg_ledger_apply_request req{sizeof(req), {}, str(idempotency_key), in.data(), in.size(), now_ms};
  setCode(req.currency, currency);
  tg_ledger_apply_result out{};
  out.struct_size = sizeof(out);
  call("ledger_apply", tenant_id,
       [&](auto* c, auto* e) { return vt_->ledger_apply(plugin_.instance(), c, &req, &out, e); });
  return ApplyResult{out.outcome, out.balance_micros, out.first_seq};
}

std::vector<LedgerEntry> Store::ledger(std::string_view tenant_id, std::string_view currency,
                                       int64_t after_seq, uint32_t limit) {
  EntryRows rows;
  char cur[4];
  setCode(cur, currency);
  call("ledger_list", tenant_id, [&](auto* c, auto* e) {
    return vt_->ledger_list(plugin_.instance(), c, cur, after_seq, limit, {&rows, EntryRows::fn},
                            e);
  });
  return std::move(rows.rows);
}

std::optional<IdempotencyRecord> Store::claimIdempotency(const IdempotencyRecord& r) {
  const tg_idempotency_row row{sizeof(row),          str(r.tenant_id),    str(r.scope),
                               str(r.key),           str(r.request_hash), r.response_status,
                               str(r.response_body), r.created_at_ms};
  IdemRows rows;
  int32_t claimed = 0;
  call("idempotency_claim", r.tenant_id, [&](auto* c, auto* e) {
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
  call("idempotency_complete", tenant_id, [&](auto* c, auto* e) {
    return vt_->idempotency_complete(plugin_.instance(), c, str(scope), str(key), response_status,
                                     str(response_body), e);
  });
}

}  // namespace tollgate::storage
