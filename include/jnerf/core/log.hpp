#pragma once
// Logging goes through spdlog; this header fixes the format and the level names once.
#include <string>

#include <spdlog/spdlog.h>

namespace jnerf {

// Accepts trace, debug, info, warn, error, off. Throws InputError on anything else.
void set_log_level(const std::string& level);
// Installs the console format used by every command (idempotent).
void init_logging();

}  // namespace jnerf
