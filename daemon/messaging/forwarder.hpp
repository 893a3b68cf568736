// Forwards inbound messages to a tenant's URL (an sms-keywords decision) after Twilio has had
// its answer: a slow tenant endpoint never delays the webhook. Best effort, three attempts.
#pragma once

#include <string>

#include "plugins/deadline.hpp"

namespace tollgate::messaging {

struct Forward {
  std::string url;
  std::string json;  // the payload
  std::string request_id;
};

class Forwarder {
 public:
  explicit Forwarder(size_t threads) : pool_(threads) {}
  void post(Forward f);

 private:
  plugins::DeadlineExecutor pool_;
};

}  // namespace tollgate::messaging
