// tollgate-twilio-sim: a Twilio simulator on loopback for the sandbox mode and the end-to-end
// tests (docs/twilio-sim.md).
#include <Poco/Exception.h>
#include <fmt/format.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include "twilio_sim/options.hpp"
#include "twilio_sim/twilio_sim.hpp"

namespace {

constexpr int kExitUsage = 64;  // sysexits EX_USAGE
constexpr int kExitStart = 1;

void setupLogging(const std::string& level) {
  auto logger = std::make_shared<spdlog::logger>("twilio-sim",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e twilio-sim %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Written whole, then renamed into place: a reader never sees a partial port.
void writePortFile(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", tmp));
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tollgate::twilio_sim;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << usage();
    return 0;
  }
  Options options;
  try {
    options = parseOptions(args);
  } catch (const UsageError& e) {
    std::cerr << "tollgate-twilio-sim: " << e.what() << "\n\n" << usage();
    return kExitUsage;
  }
  setupLogging(options.log_level);

  // Every thread started from here on inherits the mask; the signals are taken by sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (!options.seed) options.seed = std::random_device{}();
  Simulator sim(options);
  try {
    sim.start();
    spdlog::info(
        "listening on {}:{}; seed {}; {} account(s); callback delay {} ms, fail rate {}, "
        "rate-limit rate {}{}",
        options.listen_host, sim.port(), *options.seed, options.accounts.size(),
        options.callback_delay_ms, options.fail_rate, options.rate_limit_rate,
        options.out_of_order ? ", callbacks out of order" : "");
    if (!options.port_file.empty()) writePortFile(options.port_file, sim.port());
  } catch (const Poco::Exception& e) {
    spdlog::error("cannot start on {}:{}: {}", options.listen_host, options.listen_port,
                  e.displayText());
    return kExitStart;
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return kExitStart;
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("stopping on signal {}", signal_number);
  sim.stop();
  return 0;
}
