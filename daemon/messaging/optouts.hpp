// The core's opt-out registry: Twilio's keyword families, recognised in a single-word body in
// any case with surrounding spaces, recorded per tenant and sender with an audit trail.
#pragma once

#include <tollgate/abi/sms.h>

#include <string>
#include <string_view>

#include "storage/store.hpp"

namespace tollgate::messaging {

// TG_SMS_KEYWORD_STOP/START/HELP, or TG_SMS_KEYWORD_NONE.
tg_sms_keyword keywordFamily(std::string_view body);

// The keyword as written, trimmed and upper-cased (for the audit trail).
std::string normalizedKeyword(std::string_view body);

class OptOuts {
 public:
  explicit OptOuts(storage::Store& store) : store_(store) {}

  bool optedOut(std::string_view tenant_id, std::string_view phone) {
    return store_.optedOut(tenant_id, phone);
  }
  void set(std::string_view tenant_id, std::string_view phone, bool opted_out,
           std::string_view keyword, std::string_view message_sid, int64_t now_ms) {
    store_.setOptOut(tenant_id, phone, opted_out, keyword, message_sid, now_ms);
  }

 private:
  storage::Store& store_;
};

}  // namespace tollgate::messaging
