#include "messaging/pace.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>

namespace tollgate::messaging {

SenderType senderType(const std::string& e164) {
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  i18n::phonenumbers::PhoneNumber parsed;
  if (util.Parse(e164, "ZZ", &parsed) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return SenderType::kLongCode;
  }
  return util.GetNumberType(parsed) == PhoneNumberUtil::TOLL_FREE ? SenderType::kTollFree
                                                                  : SenderType::kLongCode;
}

int64_t paceUs(const SenderRates& rates, SenderType type, int32_t segments, bool mms) {
  constexpr int64_t kSecondUs = 1'000'000;
  if (mms) return rates.mms_per_s > 0 ? (kSecondUs + rates.mms_per_s - 1) / rates.mms_per_s : 0;
  const int64_t sps = type == SenderType::kTollFree ? rates.toll_free_sps : rates.long_code_sps;
  if (sps <= 0) return 0;
  // Rounded up: a sender never goes faster than its rate.
  return (kSecondUs * std::max<int32_t>(segments, 1) + sps - 1) / sps;
}

}  // namespace tollgate::messaging
