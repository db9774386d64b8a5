#include "jnerf/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

std::string type_name(const Json& v) {
  if (v.is_boolean()) return "boolean";
  if (v.is_number_integer()) return "integer";
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

bool is_integral_number(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && d == static_cast<double>(static_cast<long long>(d));
}

// Levenshtein distance, for "did you mean" hints on misspelt keys.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string suggestion(const Json& siblings, const std::string& key) {
  std::string best;
  std::size_t best_d = 3;  // only close matches are worth suggesting
  for (const auto& item : siblings.items()) {
    const std::size_t d = edit_distance(item.key(), key);
    if (d < best_d) best_d = d, best = item.key();
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string join(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Replaces `base` by `value` after checking that the type matches the default's.
void assign_checked(Json& base, const Json& value, const std::string& path, const std::string& origin) {
  const auto mismatch = [&](const std::string& expected) {
    return InputError(origin + ": config key '" + path + "' expects " + expected + ", got " +
                      type_name(value) + " (" + value.dump() + ")");
  };
  if (base.is_number_integer()) {
    if (!is_integral_number(value)) throw mismatch("an integer");
    base = static_cast<long long>(value.get<double>());
  } else if (base.is_number()) {
    if (!value.is_number()) throw mismatch("a number");
    base = value.get<double>();
  } else if (base.is_boolean()) {
    if (!value.is_boolean()) throw mismatch("a boolean (true/false)");
    base = value;
  } else if (base.is_string()) {
    if (!value.is_string()) throw mismatch("a string");
    base = value;
  } else if (base.is_array()) {
    if (!value.is_array()) throw mismatch("an array");
    // A non-empty default fixes the element type (numbers, integers, strings).
    if (!base.empty()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        Json element = base.front();
        assign_checked(element, value[i], path + "[" + std::to_string(i) + "]", origin);
      }
    }
    base = value;
  } else {
    base = value;
  }
}

void merge_into(Json& base, const Json& overlay, const std::string& prefix, const std::string& origin) {
  if (!overlay.is_object())
    throw InputError(origin + ": " + (prefix.empty() ? std::string("the config") : "config key '" + prefix + "'") +
                     " must be a JSON object, got " + type_name(overlay));
  for (const auto& item : overlay.items()) {
    const std::string& key = item.key();
    if (key == "_comment") continue;  // free text allowed anywhere
    const std::string path = join(prefix, key);
    if (!base.contains(key))
      throw InputError(origin + ": unknown config key '" + path + "'" + suggestion(base, key));
    Json& target = base[key];
    if (target.is_object())
      merge_into(target, item.value(), path, origin);
    else
      assign_checked(target, item.value(), path, origin);
  }
}

}  // namespace

void merge_config(Json& base, const Json& overlay, const std::string& origin) {
  merge_into(base, overlay, "", origin);
}

void apply_override(Json& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set expects key.path=value, got '" + assignment + "'");
  const std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);

  // The value's type comes from the default: strings are taken verbatim, anything else
  // is parsed as JSON (numbers, true/false, arrays).
  Json value;
  bool wants_string = false;
  try {
    wants_string = config_at(config, path).is_string();
  } catch (const InputError&) {
    // unknown key: merge_config below reports it with the full path and a hint
  }
  if (wants_string) {
    value = text;
  } else {
    try {
      value = Json::parse(text);
    } catch (const Json::parse_error&) {
      value = text;
    }
  }
  Json overlay = value;
  std::string rest = path;
  std::vector<std::string> keys;
  std::size_t start = 0;
  while (true) {
    const auto dot = rest.find('.', start);
    keys.push_back(rest.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    if (it->empty()) throw InputError("--set: empty key component in '" + path + "'");
    overlay = Json{{*it, overlay}};
  }
  merge_config(config, overlay, "--set " + assignment);
}

Json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw InputError("cannot open JSON file " + file.string() + ": " +
                            (std::filesystem::exists(file) ? "permission denied" : "no such file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    // Turn the byte offset into a line:column the user can jump to.
    const std::size_t offset = std::min<std::size_t>(e.byte, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i + 1 < offset; ++i) {
      if (text[i] == '\n') ++line, column = 1;
      else ++column;
    }
    throw InputError("malformed JSON in " + file.string() + " at line " + std::to_string(line) +
                     ", column " + std::to_string(column) + ": " + e.what());
  }
}

void write_json_file(const std::filesystem::path& file, const Json& value) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file);
  if (!out) throw std::runtime_error("cannot write " + file.string());
  out << value.dump(2) << "\n";
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

Json resolve_config(const std::filesystem::path& file, const std::vector<std::string>& overrides) {
  Json config = default_config();
  if (!file.empty()) merge_config(config, read_json_file(file), file.string());
  for (const auto& assignment : overrides) apply_override(config, assignment);
  return config;
}

const Json& config_at(const Json& config, const std::string& dotted_path) {
  const Json* node = &config;
  std::size_t start = 0;
  while (true) {
    const auto dot = dotted_path.find('.', start);
    const std::string key = dotted_path.substr(start, dot - start);
    if (!node->is_object() || !node->contains(key))
      throw InputError("unknown config key '" + dotted_path + "'");
    node = &(*node)[key];
    if (dot == std::string::npos) return *node;
    start = dot + 1;
  }
}

}  // namespace jnerf
