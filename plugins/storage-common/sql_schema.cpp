#include "sql_schema.hpp"

namespace tollgate::storage_sql {

// Conventions, so that both engines store the same values with the same meaning:
//   - ids are TEXT chosen by the host; times are BIGINT milliseconds since the Unix epoch;
//   - money is BIGINT micro-units next to a TEXT ISO 4217 currency, never floating point;
//   - enumerations the ABI numbers (statuses, kinds, actions) are INTEGER; words that come from
//     Twilio (a message's direction and status) are stored as Twilio spells them, in TEXT;
//   - booleans are INTEGER 0/1 with a CHECK (SQLite has no BOOLEAN);
//   - every tenant-owned row references tenants(id); "no value" is NULL only where a row can
//     exist without it (an unassigned number, a key not yet revoked, an unpriced message).
const std::string_view kSchemaMigrationsDdl = R"(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version BIGINT PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at_ms BIGINT NOT NULL
))";

namespace {

const std::vector<std::string_view> kVersion1 = {
    R"(CREATE TABLE tenants (
  id {ID_TEXT} PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  status INTEGER NOT NULL CHECK (status IN (1, 2, 3)),
  created_at_ms BIGINT NOT NULL
))",
    R"(CREATE TABLE api_keys (
  id {ID_TEXT} PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  secret_sha256 TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
))",
    "CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id)",
    // The auth token is encrypted by the core before it gets here; the backend sees bytes.
    R"(CREATE TABLE twilio_accounts (
  account_sid TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  auth_token_enc {BLOB} NOT NULL,
  is_subaccount INTEGER NOT NULL DEFAULT 0 CHECK (is_subaccount IN (0, 1)),
  friendly_name TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL
))",
    "CREATE INDEX twilio_accounts_by_tenant ON twilio_accounts (tenant_id)",
    // tenant_id is NULL while a number sits unassigned in the pool. account_sid has no foreign
    // key: a number may belong to the main Twilio account, which is configuration, not a row.
    R"(CREATE TABLE phone_numbers (
  id TEXT PRIMARY KEY,
  tenant_id TEXT REFERENCES tenants (id),
  e164 TEXT NOT NULL UNIQUE,
  twilio_sid TEXT NOT NULL DEFAULT '',
  account_sid TEXT NOT NULL DEFAULT '',
  voice_plugin TEXT NOT NULL DEFAULT '',
  sms_plugin TEXT NOT NULL DEFAULT '',
  settings_json TEXT NOT NULL DEFAULT '{}',
  status INTEGER NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
))",
    "CREATE INDEX phone_numbers_by_tenant ON phone_numbers (tenant_id)",
    R"(CREATE TABLE messages (
  sid TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  direction TEXT NOT NULL,
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  error_code INTEGER,
  num_segments INTEGER NOT NULL DEFAULT 0,
  price_micros BIGINT,
  currency TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
))",
    "CREATE INDEX messages_by_tenant_time ON messages (tenant_id, created_at_ms)",
    R"(CREATE TABLE calls (
  sid TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  direction TEXT NOT NULL,
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  status TEXT NOT NULL,
  duration_s INTEGER NOT NULL DEFAULT 0,
  recording_url TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
))",
    "CREATE INDEX calls_by_tenant_time ON calls (tenant_id, created_at_ms)",
    // balance_micros is a cache of the sum of the wallet's ledger entries, kept equal to it by
    // ledger_apply in the same transaction; the ledger is the record.
    R"(CREATE TABLE wallets (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  currency TEXT NOT NULL CHECK (length(currency) = 3),
  balance_micros BIGINT NOT NULL DEFAULT 0,
  credit_limit_micros BIGINT NOT NULL DEFAULT 0 CHECK (credit_limit_micros >= 0),
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, currency)
))",
    // One row per applied idempotency key: its presence is what makes a repeat a no-op.
    R"(CREATE TABLE ledger_transactions (
  tenant_id TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  currency TEXT NOT NULL,
  first_seq BIGINT NOT NULL,
  entry_count INTEGER NOT NULL CHECK (entry_count >= 1),
  balance_after_micros BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, idempotency_key),
  FOREIGN KEY (tenant_id, currency) REFERENCES wallets (tenant_id, currency)
))",
    R"(CREATE TABLE ledger_entries (
  seq {SEQ_PK},
  tenant_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),
  amount_micros BIGINT NOT NULL CHECK (amount_micros <> 0),
  balance_after_micros BIGINT NOT NULL,
  idempotency_key TEXT NOT NULL,
  reference TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  FOREIGN KEY (tenant_id, currency) REFERENCES wallets (tenant_id, currency)
))",
    "CREATE INDEX ledger_entries_by_wallet ON ledger_entries (tenant_id, currency, seq)",
    "CREATE INDEX ledger_entries_by_key ON ledger_entries (tenant_id, idempotency_key)",
    R"(CREATE TABLE ledger_holds (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  amount_micros BIGINT NOT NULL CHECK (amount_micros > 0),
  status INTEGER NOT NULL,
  reference TEXT NOT NULL DEFAULT '',
  expires_at_ms BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  FOREIGN KEY (tenant_id, currency) REFERENCES wallets (tenant_id, currency)
))",
    "CREATE INDEX ledger_holds_by_wallet ON ledger_holds (tenant_id, currency, status)",
    R"(CREATE TABLE opt_outs (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  phone TEXT NOT NULL,
  opted_out INTEGER NOT NULL CHECK (opted_out IN (0, 1)),
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, phone)
))",
    // Append-only audit trail of every STOP/START, kept after opt_outs changes again.
    R"(CREATE TABLE opt_out_events (
  id {SEQ_PK},
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  phone TEXT NOT NULL,
  action INTEGER NOT NULL,
  keyword TEXT NOT NULL DEFAULT '',
  message_sid TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL
))",
    "CREATE INDEX opt_out_events_by_phone ON opt_out_events (tenant_id, phone, id)",
    R"(CREATE TABLE templates (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name)
))",
    // template_name is NULL for keywords that reply with nothing; when set it must exist.
    R"(CREATE TABLE sms_keywords (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  keyword TEXT NOT NULL,
  action INTEGER NOT NULL,
  template_name TEXT,
  PRIMARY KEY (tenant_id, keyword),
  FOREIGN KEY (tenant_id, template_name) REFERENCES templates (tenant_id, name)
))",
    // idempotency_key is NULL for messages queued without one; both engines let NULLs repeat
    // under a UNIQUE constraint.
    R"(CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  template_name TEXT,
  status INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms BIGINT NOT NULL,
  twilio_sid TEXT,
  error TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  UNIQUE (tenant_id, idempotency_key)
))",
    "CREATE INDEX outbox_due ON outbox (status, next_attempt_at_ms)",
    // tenant_id is '' (not NULL, which would defeat the primary key) for records that belong to
    // no tenant yet, hence no foreign key.
    R"(CREATE TABLE idempotency_keys (
  tenant_id TEXT NOT NULL DEFAULT '',
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL DEFAULT '',
  response_status INTEGER NOT NULL DEFAULT 0,
  response_body TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, scope, key)
))",
    "CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at_ms)",
};

// ABI 1.1 puts numbers, Twilio accounts, messages, calls and opt-outs to use. What it needs
// beyond version 1:
//   - status_rank on messages and calls: the host's order of status words, so that a status
//     only ever moves forward (an out-of-order callback changes nothing);
//   - the log indexes: one tenant's records newest first, ties broken by sid (compared
//     byte-wise, as the queries do), for the (created_at_ms, sid) page cursor; they replace
//     version 1's (tenant_id, created_at_ms) indexes, of which they are an extension;
//   - lookups of a tenant's records by number, sent or received.
// How ABI 1.1 fills version 1's columns: phone_numbers.id is the e164 and status is 1
// (attached); messages.direction and calls.direction are "inbound" or "outbound";
// messages.error_code, price_micros and currency are NULL while none / unpriced;
// opt_out_events.action is 1 for an opt-out (STOP) and 0 for an opt-in (START).
const std::vector<std::string_view> kVersion2 = {
    "ALTER TABLE messages ADD COLUMN status_rank INTEGER NOT NULL DEFAULT 0 "
    "CHECK (status_rank >= 0)",
    "ALTER TABLE calls ADD COLUMN status_rank INTEGER NOT NULL DEFAULT 0 "
    "CHECK (status_rank >= 0)",
    "CREATE INDEX messages_log ON messages (tenant_id, created_at_ms, sid{BYTEWISE})",
    "DROP INDEX messages_by_tenant_time",
    "CREATE INDEX messages_by_from ON messages (tenant_id, from_number, created_at_ms)",
    "CREATE INDEX messages_by_to ON messages (tenant_id, to_number, created_at_ms)",
    "CREATE INDEX calls_log ON calls (tenant_id, created_at_ms, sid{BYTEWISE})",
    "DROP INDEX calls_by_tenant_time",
    "CREATE INDEX calls_by_from ON calls (tenant_id, from_number, created_at_ms)",
    "CREATE INDEX calls_by_to ON calls (tenant_id, to_number, created_at_ms)",
};

// ABI 1.4: usage entry kinds (5..8), holds, and wallets' held total.
//   - ledger_entries_by_key goes: nothing reads entries by key (ledger_transactions answers a
//     repeated key), and an index on random keys costs every charge a random page write, a
//     full page image in the WAL after each checkpoint.
//   - ledger_entries.kind accepts 1..8. PostgreSQL swaps the CHECK; SQLite, which cannot alter
//     a constraint, copies the table into a new one (seq values kept, so the AUTOINCREMENT
//     counter goes on from the same place) and recreates its indexes.
//   - ledger_holds, created unused by version 1, is replaced by the shape holds have: one per
//     (tenant, hold_id), the capture's amount and entry, and a partial index of active holds
//     by expiry for the sweeper. A wallet's holds are listed through the primary key (a tenant
//     has one wallet per currency): no index by wallet, which every hold change would update.
//   - wallets.held_micros: the sum of the wallet's active holds, kept by every hold change in
//     its transaction, as balance_micros is by every entry.
const std::vector<std::string_view> kVersion3 = {
    "{POSTGRES} ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check",
    "{POSTGRES} ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check "
    "CHECK (kind BETWEEN 1 AND 8)",
    R"({SQLITE} CREATE TABLE ledger_entries_v3 (
  seq {SEQ_PK},
  tenant_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 8),
  amount_micros BIGINT NOT NULL CHECK (amount_micros <> 0),
  balance_after_micros BIGINT NOT NULL,
  idempotency_key TEXT NOT NULL,
  reference TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  FOREIGN KEY (tenant_id, currency) REFERENCES wallets (tenant_id, currency)
))",
    "{SQLITE} INSERT INTO ledger_entries_v3 (seq, tenant_id, currency, kind, amount_micros, "
    "balance_after_micros, idempotency_key, reference, description, created_at_ms) "
    "SELECT seq, tenant_id, currency, kind, amount_micros, balance_after_micros, "
    "idempotency_key, reference, description, created_at_ms FROM ledger_entries",
    "{SQLITE} DROP TABLE ledger_entries",
    "{SQLITE} ALTER TABLE ledger_entries_v3 RENAME TO ledger_entries",
    "{SQLITE} CREATE INDEX ledger_entries_by_wallet ON ledger_entries (tenant_id, currency, seq)",
    "{POSTGRES} DROP INDEX ledger_entries_by_key",
    "ALTER TABLE wallets ADD COLUMN held_micros BIGINT NOT NULL DEFAULT 0 "
    "CHECK (held_micros >= 0)",
    "DROP TABLE ledger_holds",
    R"(CREATE TABLE ledger_holds (
  tenant_id TEXT NOT NULL,
  hold_id {ID_TEXT} NOT NULL,
  currency TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 4),
  amount_micros BIGINT NOT NULL CHECK (amount_micros > 0),
  captured_micros BIGINT NOT NULL DEFAULT 0
    CHECK (captured_micros >= 0 AND captured_micros <= amount_micros),
  entry_seq BIGINT NOT NULL DEFAULT 0,
  reference TEXT NOT NULL DEFAULT '',
  expires_at_ms BIGINT NOT NULL,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, hold_id),
  FOREIGN KEY (tenant_id, currency) REFERENCES wallets (tenant_id, currency)
))",
    "CREATE INDEX ledger_holds_expiring ON ledger_holds (expires_at_ms) WHERE status = 1",
};

// ABI 1.6: billing profiles, one per wallet: who pays into it, and its auto-recharge settings
// and lease (see abi/storage.h). Small and read by key only. And the country each ledger entry
// paid for, which usage summaries group by ('' for entries of no country, and every entry
// written before).
const std::vector<std::string_view> kVersion4 = {
    "ALTER TABLE ledger_entries ADD COLUMN country TEXT NOT NULL DEFAULT ''",
    R"(CREATE TABLE billing_profiles (
  tenant_id TEXT NOT NULL,
  currency TEXT NOT NULL,
  provider TEXT NOT NULL DEFAULT '',
  customer_ref TEXT NOT NULL DEFAULT '',
  recharge_threshold_micros BIGINT NOT NULL DEFAULT 0 CHECK (recharge_threshold_micros >= 0),
  recharge_amount_micros BIGINT NOT NULL DEFAULT 0 CHECK (recharge_amount_micros >= 0),
  recharge_in_flight INTEGER NOT NULL DEFAULT 0 CHECK (recharge_in_flight IN (0, 1)),
  recharge_started_at_ms BIGINT NOT NULL DEFAULT 0,
  recharge_failures INTEGER NOT NULL DEFAULT 0 CHECK (recharge_failures >= 0),
  recharge_retry_at_ms BIGINT NOT NULL DEFAULT 0,
  recharge_last_error TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, currency),
  FOREIGN KEY (tenant_id, currency) REFERENCES wallets (tenant_id, currency)
))",
};

// ABI 1.7: usage queued by the unit that recorded it, until a charger prices and settles it
// (see abi/storage.h, "queued usage"). Rows live seconds; read oldest first. No foreign key: a
// webhook never fails for its tenant's wallet, whose absence usage_settle reports instead.
const std::vector<std::string_view> kVersion5 = {
    R"(CREATE TABLE usage_queue (
  tenant_id TEXT NOT NULL,
  key {ID_TEXT} NOT NULL,
  currency TEXT NOT NULL,
  product INTEGER NOT NULL,
  sid TEXT NOT NULL,
  number TEXT NOT NULL DEFAULT '',
  counterpart TEXT NOT NULL DEFAULT '',
  quantity INTEGER NOT NULL CHECK (quantity >= 1),
  created_at_ms BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, key)
))",
    "CREATE INDEX usage_queue_oldest ON usage_queue (created_at_ms, tenant_id, key)",
};

// ABI 1.8: the outbox (see abi/storage.h). Version 1's table of that name was never written
// (no ABI reached it): replaced by the shape the outbox has. Claims read the due QUEUED rows
// in order, the reclaimer the SENDING rows by lease; both through partial indexes.
const std::vector<std::string_view> kVersion6 = {
    "DROP TABLE outbox",
    R"(CREATE TABLE outbox (
  id {ID_TEXT} PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  from_number TEXT NOT NULL,
  to_number TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  media_urls TEXT NOT NULL DEFAULT '',
  status_callback TEXT NOT NULL DEFAULT '',
  segments INTEGER NOT NULL CHECK (segments >= 0),
  currency TEXT NOT NULL DEFAULT '',
  hold_id TEXT NOT NULL DEFAULT '',
  state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 7),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at_ms BIGINT NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until_ms BIGINT NOT NULL DEFAULT 0,
  twilio_sid TEXT NOT NULL DEFAULT '',
  twilio_status TEXT NOT NULL DEFAULT '',
  status_rank INTEGER NOT NULL DEFAULT 0,
  error_code INTEGER NOT NULL DEFAULT 0,
  error TEXT NOT NULL DEFAULT '',
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
))",
    "CREATE INDEX outbox_due ON outbox (next_attempt_at_ms, id) WHERE state = 1",
    "CREATE INDEX outbox_leases ON outbox (lease_until_ms) WHERE state = 2",
    "CREATE INDEX outbox_by_state ON outbox (state, updated_at_ms, id)",
};

// ABI 1.10: senders' pace. A message's pace and, once a paced claim scheduled it, its slot
// (0: none); per sender, where its schedule ends, in microseconds (a toll-free number's 3
// segments/s is 333,333 us a segment).
const std::vector<std::string_view> kVersion7 = {
    "ALTER TABLE outbox ADD COLUMN pace_us BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN slot_us BIGINT NOT NULL DEFAULT 0",
    R"(CREATE TABLE outbox_senders (
  from_number {ID_TEXT} PRIMARY KEY,
  schedule_end_us BIGINT NOT NULL
))",
};

// ABI 1.11: messages' prices: what the send reserved, Twilio's price and when to look it up;
// the pricer reads the pending ones by that time through a partial index.
const std::vector<std::string_view> kVersion8 = {
    "ALTER TABLE outbox ADD COLUMN estimate_micros BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN price_state INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN price_micros BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN price_check_at_ms BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX outbox_price_due ON outbox (price_check_at_ms, id) WHERE price_state = 1",
};

// ABI 1.13: calls' prices, as messages' (version 8): what the tenant was charged, Twilio's
// price, and a partial index of the calls whose price is to be looked up.
const std::vector<std::string_view> kVersion9 = {
    "ALTER TABLE calls ADD COLUMN price_state INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE calls ADD COLUMN charged_micros BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE calls ADD COLUMN price_micros BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE calls ADD COLUMN price_check_at_ms BIGINT NOT NULL DEFAULT 0",
    "CREATE INDEX calls_price_due ON calls (price_check_at_ms, sid) WHERE price_state = 1",
};

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> all = {
      {1, "initial schema", kVersion1},
      {2, "ABI 1.1: status ranks and record log indexes", kVersion2},
      {3, "ABI 1.4: usage entry kinds, holds and held totals", kVersion3},
      {4, "ABI 1.6: billing profiles, the auto-recharge lease, entries' countries", kVersion4},
      {5, "ABI 1.7: queued usage", kVersion5},
      {6, "ABI 1.8: the outbox", kVersion6},
      {7, "ABI 1.10: senders' pace", kVersion7},
      {8, "ABI 1.11: messages' prices", kVersion8},
      {9, "ABI 1.13: calls' prices", kVersion9},
  };
  return all;
}

int64_t latestSchemaVersion() { return migrations().back().version; }

}  // namespace tollgate::storage_sql
