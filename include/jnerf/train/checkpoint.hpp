#pragma once
// Checkpoint files: a versioned binary format with a JSON header, readable by either
// backend (parameters are stored as float32 little-endian, whatever trained them).
//
//   bytes 0..7    magic "JNERFCK\0"
//   bytes 8..11   format version (uint32, little-endian), currently 1
//   bytes 12..19  header length H (uint64)
//   H bytes       JSON header: caller's metadata under "meta", and "arrays": a list of
//                 {"name", "count", "offset" (bytes from the payload start), "fnv1a64"}
//   payload       the arrays' float32 values back to back
//
// Saving writes a temporary file and renames it over the target, so a crash while
// saving never destroys the previous checkpoint.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "jnerf/core/config.hpp"

namespace jnerf {

struct Checkpoint {
  Json meta = Json::object();  // step, stage, model description, optimiser state ...
  std::vector<std::pair<std::string, std::vector<float>>> arrays;

  const std::vector<float>& array(const std::string& name) const;  // InputError if absent
  bool has_array(const std::string& name) const;
};

void save_checkpoint(const std::filesystem::path& file, const Checkpoint& checkpoint);
// InputError naming the file on: missing file, wrong magic, unsupported version, truncated
// data, checksum mismatch.
Checkpoint load_checkpoint(const std::filesystem::path& file);

}  // namespace jnerf
