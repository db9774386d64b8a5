#include "jnerf/core/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "jnerf/core/error.hpp"

namespace jnerf {

void init_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Log to stderr so that stdout stays machine-readable (bench prints JSON there).
    auto logger = spdlog::stderr_color_mt("jnerf");
    logger->set_pattern("[%H:%M:%S] %^%l%$ %v");
    spdlog::set_default_logger(logger);
  });
}

void set_log_level(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off")
    throw InputError("unknown log level '" + level + "' (expected trace, debug, info, warn, error or off)");
  spdlog::set_level(parsed);
}

}  // namespace jnerf
