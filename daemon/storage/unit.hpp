// A unit of work: everything one webhook writes, applied by storage all together or not at
// all, and made durable with one commit (abi/storage.h, "units of work"). Build one, then hand
// it to Store::apply.
#pragma once

#include <tollgate/abi/storage.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "storage/store.hpp"

namespace tollgate::storage {

struct Completion {
  std::string scope;
  std::string key;
  int32_t response_status = 0;
  std::string response_body;
  // A phone the answer replies to, or empty. Set: if that phone is opted out (as the unit
  // leaves the registry), no_reply_body is stored instead (result TG_UNIT_NO_REPLY).
  std::string reply_to;
  std::string no_reply_body;
};

struct StatusChange {
  std::string sid;
  std::string status;
  int32_t status_rank = 0;
  int32_t error_code = 0;   // messages
  int32_t duration_s = -1;  // calls: kept when negative
  int64_t now_ms = 0;
  // Calls, ABI 1.13 (Store::pricesCalls): non-zero: stored with the status if it applies.
  tg_outbox_price_state price_state = TG_OUTBOX_PRICE_NONE;
  int64_t price_check_at_ms = 0;
};

struct RecordingChange {
  std::string sid;
  std::string recording_url;
  int64_t now_ms = 0;
};

struct OptOutChange {
  std::string phone;
  bool opted_out = true;
  std::string keyword;
  std::string message_sid;
  int64_t now_ms = 0;
};

class Unit {
 public:
  // Where an operation's result is in UnitResult::results.
  using Index = size_t;

  struct Op {
    tg_unit_op_kind kind = 0;
    std::variant<IdempotencyRecord, Completion, Message, Call, StatusChange, RecordingChange,
                 OptOutChange, Usage, OutboxMessage, OutboxTransition, HoldRequest>
        args;
  };

  explicit Unit(std::string tenant_id) : tenant_id_(std::move(tenant_id)) {}

  // At most one claim per unit: if its key exists, nothing of the unit is applied.
  Index claim(IdempotencyRecord r) { return add(TG_UNIT_CLAIM, std::move(r)); }
  Index complete(Completion c) { return add(TG_UNIT_COMPLETE, std::move(c)); }
  // A sid that exists is left as it is (result TG_UNIT_UNCHANGED).
  Index insertMessage(Message m) { return add(TG_UNIT_MESSAGE_INSERT, std::move(m)); }
  Index insertCall(Call c) { return add(TG_UNIT_CALL_INSERT, std::move(c)); }
  // Unknown sids are TG_UNIT_MISSING, not errors.
  Index updateMessageStatus(StatusChange c) { return add(TG_UNIT_MESSAGE_STATUS, std::move(c)); }
  Index updateCallStatus(StatusChange c) { return add(TG_UNIT_CALL_STATUS, std::move(c)); }
  Index setCallRecording(RecordingChange c) { return add(TG_UNIT_CALL_RECORDING, std::move(c)); }
  Index setOptOut(OptOutChange c) { return add(TG_UNIT_OPTOUT_SET, std::move(c)); }
  // ABI 1.7 (Store::queuesUsage): a usage to charge later; a key queued already is left
  // (TG_UNIT_UNCHANGED). TG_UNIT_MISSING: not queued (the plugin cannot), charge it now.
  Index queueUsage(Usage u) { return add(TG_UNIT_USAGE_ADD, std::move(u)); }
  // ABI 1.8 (Store::hasOutbox): a message to send, QUEUED; an id that exists is left
  // (TG_UNIT_UNCHANGED).
  Index addToOutbox(OutboxMessage m) { return add(TG_UNIT_OUTBOX_ADD, std::move(m)); }
  // ABI 1.9 (Store::takesOutboxStatus): what Twilio reported of a message, guarded by
  // from_states but not by the lease's owner. TG_UNIT_UNCHANGED: not in from_states;
  // TG_UNIT_MISSING: no such message.
  Index setOutboxStatus(OutboxTransition t) { return add(TG_UNIT_OUTBOX_STATUS, std::move(t)); }
  // ABI 1.12 (Store::settlesHoldsInUnits): a hold captured or released with the unit.
  // TG_UNIT_UNCHANGED: settled already (or expired); TG_UNIT_MISSING: no such hold.
  Index settleHold(HoldRequest h) { return add(TG_UNIT_HOLD, std::move(h)); }

  const std::string& tenantId() const { return tenant_id_; }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  template <class Args>
  Index add(tg_unit_op_kind kind, Args args) {
    ops_.push_back(Op{kind, std::move(args)});
    return ops_.size() - 1;
  }

  std::string tenant_id_;
  std::vector<Op> ops_;
};

struct UnitResult {
  bool duplicate = false;                     // the claim found its key: nothing was applied
  std::optional<IdempotencyRecord> existing;  // the stored record, when duplicate
  std::vector<int32_t> results;               // per operation: TG_UNIT_CHANGED/UNCHANGED/MISSING

  int32_t result(Unit::Index i) const { return i < results.size() ? results[i] : 0; }
};

}  // namespace tollgate::storage
