#include "ops/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/systemd_sink.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace tollgate::ops {

void setupLogging(const std::string& level) {
  std::shared_ptr<spdlog::logger> logger;
  if (std::getenv("JOURNAL_STREAM") != nullptr) {
    // journald adds its own timestamp and unit; keep the line to the message.
    logger = std::make_shared<spdlog::logger>(
        "tollgated", std::make_shared<spdlog::sinks::systemd_sink_mt>("tollgated"));
    logger->set_pattern("%v");
  } else {
    logger = std::make_shared<spdlog::logger>("tollgated",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

}  // namespace tollgate::ops
