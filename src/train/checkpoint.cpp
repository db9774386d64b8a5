#include "jnerf/train/checkpoint.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

constexpr char kMagic[8] = {'J', 'N', 'E', 'R', 'F', 'C', 'K', '\0'};
constexpr std::uint32_t kVersion = 1;

std::uint64_t fnv1a64(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

template <class T>
void put(std::ofstream& out, T value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T get(std::ifstream& in, const std::filesystem::path& file) {
  T value{};
  if (!in.read(reinterpret_cast<char*>(&value), sizeof(T)))
    throw InputError("checkpoint " + file.string() + " is truncated (header)");
  return value;
}

}  // namespace

const std::vector<float>& Checkpoint::array(const std::string& name) const {
  for (const auto& [n, values] : arrays)
    if (n == name) return values;
  throw InputError("checkpoint has no array '" + name + "'");
}

bool Checkpoint::has_array(const std::string& name) const {
  for (const auto& entry : arrays)
    if (entry.first == name) return true;
  return false;
}

void save_checkpoint(const std::filesystem::path& file, const Checkpoint& ck) {
  Json header;
  header["meta"] = ck.meta;
  header["arrays"] = Json::array();
  std::uint64_t offset = 0;
  for (const auto& [name, values] : ck.arrays) {
    const std::size_t bytes = values.size() * sizeof(float);
    header["arrays"].push_back({{"name", name},
                                {"count", values.size()},
                                {"offset", offset},
                                {"fnv1a64", std::to_string(fnv1a64(values.data(), bytes))}});
    offset += bytes;
  }
  const std::string text = header.dump();

  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write checkpoint " + tmp.string());
    out.write(kMagic, sizeof(kMagic));
    put<std::uint32_t>(out, kVersion);
    put<std::uint64_t>(out, text.size());
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& entry : ck.arrays)
      out.write(reinterpret_cast<const char*>(entry.second.data()),
                static_cast<std::streamsize>(entry.second.size() * sizeof(float)));
    out.flush();
    if (!out) throw std::runtime_error("cannot write checkpoint " + tmp.string());
  }
  std::filesystem::rename(tmp, file);
}

Checkpoint load_checkpoint(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("cannot open checkpoint " + file.string());
  char magic[8];
  if (!in.read(magic, sizeof(magic)) || std::memcmp(magic, kMagic, sizeof(kMagic)) != 0)
    throw InputError(file.string() + " is not a jnerf checkpoint (bad magic)");
  const auto version = get<std::uint32_t>(in, file);
  if (version != kVersion)
    throw InputError("checkpoint " + file.string() + " has format version " + std::to_string(version) +
                     "; this jnerf reads version " + std::to_string(kVersion));
  const auto header_size = get<std::uint64_t>(in, file);
  if (header_size > (1ull << 30)) throw InputError("checkpoint " + file.string() + " has a corrupt header size");
  std::string text(header_size, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_size)))
    throw InputError("checkpoint " + file.string() + " is truncated (header)");
  Json header;
  try {
    header = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw InputError("checkpoint " + file.string() + " has a corrupt header: " + e.what());
  }

  Checkpoint ck;
  ck.meta = header.value("meta", Json::object());
  try {
    for (const Json& entry : header.at("arrays")) {
      const std::string name = entry.at("name").get<std::string>();
      std::vector<float> values(entry.at("count").get<std::size_t>());
      const std::size_t bytes = values.size() * sizeof(float);
      if (!in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(bytes)))
        throw InputError("checkpoint " + file.string() + " is truncated (array '" + name + "')");
      if (std::to_string(fnv1a64(values.data(), bytes)) != entry.at("fnv1a64").get<std::string>())
        throw InputError("checkpoint " + file.string() + ": checksum mismatch in array '" + name + "'");
      ck.arrays.emplace_back(name, std::move(values));
    }
  } catch (const Json::exception& e) {
    throw InputError("checkpoint " + file.string() + " has a corrupt header: " + e.what());
  }
  return ck;
}

}  // namespace jnerf
