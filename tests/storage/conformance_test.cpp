// Storage conformance: schema and migrations, tenants, API keys, wallets and idempotency
// records. The same tests run against every backend (see conformance_fixture.hpp); the ledger
// and the ABI 1.1 records have files of their own.
#include <Poco/Data/Statement.h>

#include <latch>
#include <set>
#include <thread>

#include "conformance_fixture.hpp"
#include "sql_dialect.hpp"
#include "sql_schema.hpp"

namespace tollgate::testing {
namespace {

namespace kw = Poco::Data::Keywords;
using storage::ApiKey;
using storage::IdempotencyRecord;
using storage::Tenant;

const std::string kSecret(64, 'a');

// ---- migrations (their own fixture: the database starts empty) ----

class StorageMigrationTest : public StorageTest {
 protected:
  StorageMigrationTest() { migrate_in_setup_ = false; }
};

TEST_P(StorageMigrationTest, MigrateReportsTheVersionAndIsIdempotent) {
  EXPECT_EQ(store().migrate(), kSchemaVersion);
  EXPECT_EQ(store().migrate(), kSchemaVersion);
  auto s = rawSession();
  std::vector<Poco::Int64> versions;
  s << "SELECT version FROM schema_migrations ORDER BY version", kw::into(versions), kw::now;
  EXPECT_EQ(versions, (std::vector<Poco::Int64>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

// A database that a 1.0 plugin migrated (version 1), with rows in it, upgrades in place.
TEST_P(StorageMigrationTest, UpgradesAVersion1DatabaseKeepingItsRows) {
  // Version 1 exactly as the 1.0 plugins applied it, with their DDL fragments.
  storage_sql::Dialect d;
  d.seq_pk = isPostgres() ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT";
  d.blob = isPostgres() ? "BYTEA" : "BLOB";
  d.id_text = isPostgres() ? "TEXT COLLATE \"C\"" : "TEXT";
  auto s = rawSession();
  s << std::string(storage_sql::kSchemaMigrationsDdl), kw::now;
  ASSERT_EQ(storage_sql::migrations()[0].version, 1);
  for (const std::string_view stmt : storage_sql::migrations()[0].statements) {
    s << d.ddl(stmt), kw::now;
  }
  s << "INSERT INTO schema_migrations (version, description, applied_at_ms) "
       "VALUES (1, 'initial schema', 1)",
      kw::now;
  s << "INSERT INTO tenants (id, name, status, created_at_ms) VALUES ('tn_a', 'A', 1, 1)", kw::now;
  s << "INSERT INTO messages (sid, tenant_id, direction, from_number, to_number, body, status, "
       "num_segments, created_at_ms, updated_at_ms) VALUES ('SMold', 'tn_a', 'outbound', "
       "'+14155550100', '+14155550001', 'hi', 'sent', 1, 5, 6)",
      kw::now;
  s << "INSERT INTO calls (sid, tenant_id, direction, from_number, to_number, status, "
       "created_at_ms, updated_at_ms) VALUES ('CAold', 'tn_a', 'inbound', '+14155550001', "
       "'+14155550100', 'completed', 7, 8)",
      kw::now;
  // A wallet with two entries (seq 1 and 2): version 3 rebuilds SQLite's ledger_entries.
  s << "INSERT INTO wallets (tenant_id, currency, balance_micros, credit_limit_micros, "
       "created_at_ms) VALUES ('tn_a', 'USD', 700, 0, 1)",
      kw::now;
  s << "INSERT INTO ledger_entries (tenant_id, currency, kind, amount_micros, "
       "balance_after_micros, idempotency_key, created_at_ms) VALUES "
       "('tn_a', 'USD', 1, 1000, 1000, 'k1', 2), ('tn_a', 'USD', 2, -300, 700, 'k2', 3)",
      kw::now;
  s << "INSERT INTO ledger_transactions (tenant_id, idempotency_key, currency, first_seq, "
       "entry_count, balance_after_micros, created_at_ms) VALUES "
       "('tn_a', 'k1', 'USD', 1, 1, 1000, 2), ('tn_a', 'k2', 'USD', 2, 1, 700, 3)",
      kw::now;

  EXPECT_EQ(store().migrate(), kSchemaVersion);
  // The entries kept their seq; the next one comes after them, and the new kinds are accepted.
  const auto w = store().wallet("tn_a", "USD");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->balance_micros, 700);
  EXPECT_EQ(w->held_micros, 0);
  const auto applied = store().applyLedger("tn_a", "USD", "k3",
                                           {{.kind = TG_ENTRY_SMS_USAGE,
                                             .amount_micros = -100,
                                             .reference = "SMold",
                                             .description = "an SMS"}},
                                           4);
  EXPECT_EQ(applied.outcome, TG_APPLY_APPLIED);
  EXPECT_EQ(applied.first_seq, 3);
  const auto entries = allEntries("tn_a");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].seq, 1);
  EXPECT_EQ(entries[1].amount_micros, -300);
  EXPECT_EQ(entries[2].kind, TG_ENTRY_SMS_USAGE);
  expectConsistent("tn_a");
  const auto m = store().message("tn_a", "SMold");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->direction, TG_DIRECTION_OUTBOUND);
  EXPECT_EQ(m->status, "sent");
  EXPECT_EQ(m->status_rank, 0);
  EXPECT_EQ(m->error_code, 0);
  EXPECT_EQ(m->price_micros, 0);
  EXPECT_EQ(m->currency, "");
  EXPECT_TRUE(store().updateMessageStatus("tn_a", "SMold", "delivered", 1, 0, 9));
  storage::LogQuery q;
  q.limit = 10;
  ASSERT_EQ(store().messages("tn_a", q).size(), 1u);
  EXPECT_EQ(store().messages("tn_a", q)[0].status, "delivered");
  const auto c = store().call("tn_a", "CAold");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->status_rank, 0);
  EXPECT_EQ(c->created_at_ms, 7);
  EXPECT_EQ(store().calls("tn_a", q).size(), 1u);
  EXPECT_EQ(store().migrate(), kSchemaVersion);
}

TEST_P(StorageMigrationTest, DaemonsMigratingAtOnceApplyEachMigrationOnce) {
  auto other = loadAnotherDaemon();
  ASSERT_TRUE(other.store);
  std::vector<storage::Store*> stores = {&store(), other.store.get()};
  std::latch start(8);
  std::vector<std::thread> threads;
  std::vector<int64_t> versions(8, -1);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      try {
        versions[i] = stores[i % 2]->migrate();
      } catch (const storage::StorageError& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const int64_t v : versions) EXPECT_EQ(v, kSchemaVersion);
  auto s = rawSession();
  Poco::Int64 rows = 0;
  s << "SELECT COUNT(*) FROM schema_migrations", kw::into(rows), kw::now;
  EXPECT_EQ(rows, kSchemaVersion);
}

// ---- schema ----

TEST_P(StorageTest, EveryTableExistsWithItsColumns) {
  // Tables the vtable does not touch yet (templates, keywords) exist all the same.
  const std::vector<std::pair<std::string, std::string>> tables = {
      {"tenants", "id, name, status, created_at_ms"},
      {"api_keys", "id, tenant_id, secret_sha256, label, created_at_ms, revoked_at_ms"},
      {"twilio_accounts",
       "tenant_id, account_sid, auth_token_enc, is_subaccount, friendly_name, created_at_ms"},
      {"phone_numbers",
       "id, tenant_id, e164, twilio_sid, account_sid, voice_plugin, sms_plugin, settings_json, "
       "status, created_at_ms, updated_at_ms"},
      {"messages",
       "sid, tenant_id, direction, from_number, to_number, body, status, status_rank, "
       "error_code, num_segments, price_micros, currency, created_at_ms, updated_at_ms"},
      {"calls",
       "sid, tenant_id, direction, from_number, to_number, status, status_rank, duration_s, "
       "recording_url, created_at_ms, updated_at_ms"},
      {"wallets",
       "tenant_id, currency, balance_micros, credit_limit_micros, created_at_ms, held_micros"},
      {"ledger_transactions",
       "tenant_id, idempotency_key, currency, first_seq, entry_count, balance_after_micros, "
       "created_at_ms"},
      {"ledger_entries",
       "seq, tenant_id, currency, kind, amount_micros, balance_after_micros, idempotency_key, "
       "reference, description, created_at_ms, country"},
      {"ledger_holds",
       "tenant_id, hold_id, currency, status, amount_micros, captured_micros, entry_seq, "
       "reference, expires_at_ms, created_at_ms, updated_at_ms"},
      {"billing_profiles",
       "tenant_id, currency, provider, customer_ref, recharge_threshold_micros, "
       "recharge_amount_micros, recharge_in_flight, recharge_started_at_ms, recharge_failures, "
       "recharge_retry_at_ms, recharge_last_error, created_at_ms, updated_at_ms"},
      {"usage_queue",
       "tenant_id, key, currency, product, sid, number, counterpart, quantity, created_at_ms"},
      {"opt_outs", "tenant_id, phone, opted_out, updated_at_ms"},
      {"opt_out_events", "id, tenant_id, phone, action, keyword, message_sid, created_at_ms"},
      {"templates", "tenant_id, name, body, created_at_ms, updated_at_ms"},
      {"sms_keywords", "tenant_id, keyword, action, template_name"},
      {"outbox",
       "id, tenant_id, from_number, to_number, body, media_urls, status_callback, segments, "
       "currency, hold_id, state, attempts, next_attempt_at_ms, lease_owner, lease_until_ms, "
       "twilio_sid, twilio_status, status_rank, error_code, error, created_at_ms, "
       "updated_at_ms"},
      {"idempotency_keys",
       "tenant_id, scope, key, request_hash, response_status, response_body, created_at_ms"},
      {"schema_migrations", "version, description, applied_at_ms"},
  };
  auto s = rawSession();
  for (const auto& [table, columns] : tables) {
    Poco::Int64 n = -1;
    try {
      s << "SELECT COUNT(*) FROM (SELECT " + columns + " FROM " + table + ") t", kw::into(n),
          kw::now;
    } catch (const Poco::Exception& e) {
      ADD_FAILURE() << table << ": " << e.displayText();
    }
    EXPECT_EQ(n, table == "schema_migrations" ? kSchemaVersion : 0) << table;
  }
  // The indexes the 1.1 queries use, named alike on both engines; version 2 replaced the
  // (tenant_id, created_at_ms) ones.
  std::vector<std::string> indexes;
  if (isPostgres()) {
    s << "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1",
        kw::into(indexes), kw::now;
  } else {
    s << "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1",
        kw::into(indexes), kw::now;
  }
  const std::set<std::string> have(indexes.begin(), indexes.end());
  for (const char* want :
       {"messages_log", "messages_by_from", "messages_by_to", "calls_log", "calls_by_from",
        "calls_by_to", "phone_numbers_by_tenant", "opt_out_events_by_phone",
        "ledger_entries_by_wallet", "ledger_holds_expiring"}) {
    EXPECT_EQ(have.count(want), 1u) << want;
  }
  EXPECT_EQ(have.count("messages_by_tenant_time"), 0u);
  EXPECT_EQ(have.count("ledger_entries_by_key"), 0u);  // version 3: nothing reads by key
  EXPECT_EQ(have.count("calls_by_tenant_time"), 0u);
  if (!isPostgres()) {
    std::string mode;
    s << "PRAGMA journal_mode", kw::into(mode), kw::now;  // stored in the file by the plugin
    EXPECT_EQ(mode, "wal");
  }
}

// ---- tenants ----

TEST_P(StorageTest, TenantsCreateGetListAndSetStatus) {
  for (const char* id : {"tn_c", "tn_a", "tn_e", "tn_b", "tn_d"}) createTenant(id);

  const auto t = store().tenant("tn_c");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->id, "tn_c");
  EXPECT_EQ(t->name, "Tenant tn_c");
  EXPECT_EQ(t->status, TG_TENANT_ACTIVE);
  EXPECT_EQ(t->created_at_ms, kT0);
  EXPECT_FALSE(store().tenant("tn_zz").has_value());

  // Pages ordered by id, resuming after the last id seen.
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    const auto page = store().tenants(after, 2);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 2u);
    for (const auto& p : page) seen.push_back(p.id);
    after = page.back().id;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"tn_a", "tn_b", "tn_c", "tn_d", "tn_e"}));
  EXPECT_TRUE(store().tenants("", 0).empty());

  store().setTenantStatus("tn_b", TG_TENANT_SUSPENDED);
  EXPECT_EQ(store().tenant("tn_b")->status, TG_TENANT_SUSPENDED);
  EXPECT_EQ(statusOf([&] { store().setTenantStatus("tn_zz", TG_TENANT_CLOSED); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().setTenantStatus("tn_b", 42); }), TG_ERR_INVALID_ARGUMENT);
}

TEST_P(StorageTest, TenantConflictsAndBadInput) {
  createTenant("tn_1");
  EXPECT_EQ(statusOf([&] {
              store().createTenant({"tn_2", "Tenant tn_1", TG_TENANT_ACTIVE, kT0});
            }),
            TG_ERR_CONFLICT);
  EXPECT_EQ(statusOf([&] {
              store().createTenant({"tn_1", "Other name", TG_TENANT_ACTIVE, kT0});
            }),
            TG_ERR_CONFLICT);
  std::string msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().createTenant({"tn_3", "", TG_TENANT_ACTIVE, kT0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("name"), std::string::npos) << msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().createTenant({"tn_3", "x", 0, kT0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("status"), std::string::npos) << msg;
  // Both engines refuse what one of them could not store faithfully.
  EXPECT_EQ(statusOf([&] {
              store().createTenant({"tn_3", std::string("a\0b", 3), 1, kT0});
            }),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(statusOf([&] {
              store().createTenant({"tn_3", "bad \xC3\x28 utf8", 1, kT0});
            }),
            TG_ERR_INVALID_ARGUMENT);
  // Unicode is kept byte for byte.
  store().createTenant({"tn_4", "Zoë ünïcode ✓", TG_TENANT_ACTIVE, kT0});
  EXPECT_EQ(store().tenant("tn_4")->name, "Zoë ünïcode ✓");
  EXPECT_EQ(store().tenants("", 100).size(), 2u);
}

// ---- API keys ----

TEST_P(StorageTest, ApiKeysCreateGetListAndRevoke) {
  createTenant("tn_a");
  store().createApiKey(ApiKey{"key_2", "tn_a", kSecret, "ci", kT0, 0});
  store().createApiKey(ApiKey{"key_1", "tn_a", std::string(64, 'b'), "laptop", kT0 + 1, 0});

  const auto k = store().apiKey("key_1");  // found across tenants, as authentication does
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->tenant_id, "tn_a");
  EXPECT_EQ(k->secret_sha256, std::string(64, 'b'));
  EXPECT_EQ(k->label, "laptop");
  EXPECT_EQ(k->created_at_ms, kT0 + 1);
  EXPECT_EQ(k->revoked_at_ms, 0);
  EXPECT_FALSE(store().apiKey("key_none").has_value());

  const auto keys = store().apiKeys("tn_a");
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, "key_1");
  EXPECT_EQ(keys[1].id, "key_2");

  store().revokeApiKey("tn_a", "key_1", kT0 + 100);
  store().revokeApiKey("tn_a", "key_1", kT0 + 200);  // revoking twice keeps the first time
  EXPECT_EQ(store().apiKey("key_1")->revoked_at_ms, kT0 + 100);
  EXPECT_EQ(store().apiKey("key_2")->revoked_at_ms, 0);

  EXPECT_EQ(statusOf([&] {
              store().createApiKey({"key_1", "tn_a", kSecret, "dup", kT0, 0});
            }),
            TG_ERR_CONFLICT);
  EXPECT_EQ(statusOf([&] {
              store().createApiKey({"key_3", "tn_nobody", kSecret, "", kT0, 0});
            }),
            TG_ERR_NOT_FOUND);
  std::string msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().createApiKey({"key_3", "tn_a", "NOT-HEX", "", kT0, 0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("secret_sha256"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { store().revokeApiKey("tn_a", "key_none", kT0); }), TG_ERR_NOT_FOUND);
}

TEST_P(StorageTest, ApiKeysAreScopedToTheirTenant) {
  createTenant("tn_a");
  createTenant("tn_b");
  store().createApiKey(ApiKey{"key_a", "tn_a", kSecret, "", kT0, 0});
  store().createApiKey(ApiKey{"key_b", "tn_b", kSecret, "", kT0, 0});

  const auto b_keys = store().apiKeys("tn_b");
  ASSERT_EQ(b_keys.size(), 1u);
  EXPECT_EQ(b_keys[0].id, "key_b");
  // Tenant B cannot revoke tenant A's key, and trying leaves it valid.
  EXPECT_EQ(statusOf([&] { store().revokeApiKey("tn_b", "key_a", kT0 + 1); }), TG_ERR_NOT_FOUND);
  EXPECT_EQ(store().apiKey("key_a")->revoked_at_ms, 0);
  EXPECT_TRUE(store().apiKeys("tn_c").empty());

  // The lookup is across tenants only for a call acting for no tenant (authentication); a call
  // acting for tenant B does not find A's key. Store has no such call: straight to the ABI.
  plugins::Plugin& plugin = store().plugin();
  const auto* vt = plugin.vtable<tg_storage_vtable>();
  const auto lookup = [&](const std::string& tenant, const std::string& key) {
    const tg_call_ctx ctx{sizeof(tg_call_ctx), {tenant.data(), tenant.size()}, {"t", 1}, 0};
    int rows = 0;
    tg_error err{};
    const tg_api_key_sink sink{&rows,
                               [](void* c, const tg_api_key_row*) { ++*static_cast<int*>(c); }};
    const tg_status st =
        vt->api_key_get(plugin.instance(), &ctx, {key.data(), key.size()}, sink, &err);
    return std::make_pair(st, rows);
  };
  EXPECT_EQ(lookup("tn_b", "key_a"), std::make_pair(TG_ERR_NOT_FOUND, 0));
  EXPECT_EQ(lookup("tn_a", "key_a"), std::make_pair(TG_OK, 1));
  EXPECT_EQ(lookup("", "key_a"), std::make_pair(TG_OK, 1));
}

// ---- wallets ----

TEST_P(StorageTest, WalletsCreateAndGet) {
  createTenant("tn_a");
  createWallet("tn_a", "USD", 5000000);
  const auto w = store().wallet("tn_a", "USD");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->tenant_id, "tn_a");
  EXPECT_EQ(w->currency, "USD");
  EXPECT_EQ(w->balance_micros, 0);
  EXPECT_EQ(w->credit_limit_micros, 5000000);
  EXPECT_EQ(w->created_at_ms, kT0);
  EXPECT_FALSE(store().wallet("tn_a", "EUR").has_value());

  EXPECT_EQ(statusOf([&] { createWallet("tn_a", "USD"); }), TG_ERR_CONFLICT);
  EXPECT_EQ(statusOf([&] { createWallet("tn_nobody", "USD"); }), TG_ERR_NOT_FOUND);
  std::string msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().createWallet({"tn_a", "EUR", 100, 0, kT0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("balance_micros"), std::string::npos) << msg;
  EXPECT_EQ(statusOf(
                [&] {
                  store().createWallet({"tn_a", "EUR", 0, -1, kT0});
                },
                &msg),
            TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("credit_limit_micros"), std::string::npos) << msg;
  EXPECT_EQ(statusOf([&] { createWallet("tn_a", "usd"); }, &msg), TG_ERR_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("currency"), std::string::npos) << msg;
  createWallet("tn_a", "EUR");
  EXPECT_EQ(balance("tn_a", "EUR"), 0);
}

// ---- idempotency records ----

IdempotencyRecord record(const std::string& tenant, const std::string& key,
                         const std::string& hash = "h1") {
  return IdempotencyRecord{tenant, "api:messages", key, hash, 0, "", kT0};
}

TEST_P(StorageTest, IdempotencyClaimCompleteAndReplay) {
  createTenant("tn_a");
  EXPECT_FALSE(store().claimIdempotency(record("tn_a", "k1")).has_value());  // claimed

  auto again = store().claimIdempotency(record("tn_a", "k1", "h2"));  // in progress
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->request_hash, "h1");
  EXPECT_EQ(again->response_status, 0);
  EXPECT_EQ(again->response_body, "");

  store().completeIdempotency("tn_a", "api:messages", "k1", 201, "{\"sid\":\"SM1\"}");
  auto replay = store().claimIdempotency(record("tn_a", "k1"));
  ASSERT_TRUE(replay.has_value());
  EXPECT_EQ(replay->tenant_id, "tn_a");
  EXPECT_EQ(replay->scope, "api:messages");
  EXPECT_EQ(replay->key, "k1");
  EXPECT_EQ(replay->response_status, 201);
  EXPECT_EQ(replay->response_body, "{\"sid\":\"SM1\"}");
  EXPECT_EQ(replay->created_at_ms, kT0);

  // The same key is independent in another scope, another tenant and for "no tenant".
  EXPECT_FALSE(store().claimIdempotency({"tn_a", "sms-webhook", "k1", "", 0, "", kT0}).has_value());
  EXPECT_FALSE(store().claimIdempotency(record("", "k1")).has_value());
  EXPECT_TRUE(store().claimIdempotency(record("", "k1")).has_value());

  EXPECT_EQ(statusOf([&] { store().completeIdempotency("tn_a", "api:messages", "k9", 200, ""); }),
            TG_ERR_NOT_FOUND);
  EXPECT_EQ(statusOf([&] { store().claimIdempotency(record("tn_a", "")); }),
            TG_ERR_INVALID_ARGUMENT);
}

TEST_P(StorageTest, ConcurrentClaimsOfOneKeyHaveExactlyOneWinner) {
  constexpr int kThreads = 16;
  createTenant("tn_a");
  for (int round = 0; round < 5; ++round) {
    const std::string key = "race-" + std::to_string(round);
    std::latch start(kThreads);
    std::atomic<int> winners{0}, losers{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          const auto r = store().claimIdempotency(record("tn_a", key, "h" + std::to_string(i)));
          (r ? losers : winners).fetch_add(1);
        } catch (const storage::StorageError& e) {
          ADD_FAILURE() << e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << key;
    EXPECT_EQ(losers.load(), kThreads - 1) << key;
  }
}

// ABI 1.2: release (own claim time -> 0) and takeover (the time seen -> now) of a claim in
// progress, as a compare-and-swap.
TEST_P(StorageTest, IdempotencyReclaimIsACompareAndSwapOnAClaimInProgress) {
  createTenant("tn_a");
  const std::string scope = "api:messages";
  ASSERT_FALSE(store().claimIdempotency(record("tn_a", "k1")).has_value());  // at kT0
  EXPECT_EQ(store().reclaimIdempotency("tn_a", scope, "k1", kT0 + 1, 0), false) << "wrong time";
  EXPECT_EQ(store().reclaimIdempotency("tn_b", scope, "k1", kT0, 0), false) << "other tenant";
  EXPECT_EQ(store().reclaimIdempotency("tn_a", scope, "k1", kT0, 0), true) << "release";
  EXPECT_EQ(store().claimIdempotency(record("tn_a", "k1"))->created_at_ms, 0);
  EXPECT_EQ(store().reclaimIdempotency("tn_a", scope, "k1", 0, kT0 + 5), true) << "takeover";
  EXPECT_EQ(store().reclaimIdempotency("tn_a", scope, "k1", 0, kT0 + 6), false) << "taken";
  EXPECT_EQ(store().claimIdempotency(record("tn_a", "k1"))->created_at_ms, kT0 + 5);
  // A completed record is never reclaimed, nor one that does not exist.
  store().completeIdempotency("tn_a", scope, "k1", 200, "done");
  EXPECT_EQ(store().reclaimIdempotency("tn_a", scope, "k1", kT0 + 5, 0), false);
  EXPECT_EQ(store().claimIdempotency(record("tn_a", "k1"))->response_status, 200);
  EXPECT_EQ(store().reclaimIdempotency("tn_a", scope, "nope", kT0, 0), false);
  EXPECT_EQ(statusOf([&] { store().reclaimIdempotency("tn_a", scope, "", kT0, 0); }),
            TG_ERR_INVALID_ARGUMENT);
}

TEST_P(StorageTest, ConcurrentTakeoversOfAnAbandonedClaimHaveExactlyOneWinner) {
  constexpr int kThreads = 16;
  createTenant("tn_a");
  for (int round = 0; round < 5; ++round) {
    const std::string key = "abandoned-" + std::to_string(round);
    ASSERT_FALSE(store().claimIdempotency(record("tn_a", key)).has_value());
    std::latch start(kThreads);
    std::atomic<int> winners{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          if (store().reclaimIdempotency("tn_a", "api:messages", key, kT0, kT0 + 100 + i) == true) {
            winners.fetch_add(1);
          }
        } catch (const storage::StorageError& e) {
          ADD_FAILURE() << e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(winners.load(), 1) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageMigrationTest, ::testing::Values("sqlite", "postgres"),
                         backendName);
INSTANTIATE_TEST_SUITE_P(Backends, StorageTest, ::testing::Values("sqlite", "postgres"),
                         backendName);

}  // namespace
}  // namespace tollgate::testing
