#pragma once
// Run configuration. A config is JSON; every key and its type come from one table of
// defaults (src/core/config_defaults.cpp). User files and `--set key.path=value`
// overrides are merged over the defaults; unknown keys and wrong types are InputErrors
// that name the key path, the expected type and the file.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jnerf/core/error.hpp"

namespace jnerf {

using Json = nlohmann::json;

// The complete default configuration (a fresh copy each call).
Json default_config();

// Merges `overlay` into `base` in place. Every key of the overlay must exist in the base
// with a compatible type (integers are accepted where numbers are expected). Objects
// listed as free-form in the defaults (a key "_free": true) accept any keys.
// `origin` (a file name or "--set") is quoted in error messages.
void merge_config(Json& base, const Json& overlay, const std::string& origin);

// Parses one `key.path=value` override. The value is read as JSON when it parses
// (numbers, true/false, arrays, quoted strings), otherwise as a plain string.
void apply_override(Json& config, const std::string& assignment);

// defaults <- file (optional, may be empty path) <- overrides, in that order.
Json resolve_config(const std::filesystem::path& file, const std::vector<std::string>& overrides);

// Reads a JSON file; InputError naming the file for missing or malformed input
// (with line and column for parse errors).
Json read_json_file(const std::filesystem::path& file);
void write_json_file(const std::filesystem::path& file, const Json& value);

// Typed access by dotted path: config_get<int>(cfg, "train.iters").
const Json& config_at(const Json& config, const std::string& dotted_path);
template <class T>
T config_get(const Json& config, const std::string& dotted_path) {
  try {
    return config_at(config, dotted_path).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError("config key '" + dotted_path + "' has the wrong type: " + e.what());
  }
}

}  // namespace jnerf
