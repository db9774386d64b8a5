#include "jnerf/model/param_layout.hpp"

#include "jnerf/core/error.hpp"

namespace jnerf {

std::size_t ParamLayout::add(const std::string& name, std::vector<int> shape) {
  std::size_t size = 1;
  for (int d : shape) size *= static_cast<std::size_t>(d);
  segments_.push_back({name, total_, size, std::move(shape)});
  total_ += size;
  return segments_.back().offset;
}

const ParamSegment& ParamLayout::find(const std::string& name) const {
  for (const auto& s : segments_)
    if (s.name == name) return s;
  throw InputError("no parameter segment named '" + name + "'");
}

Json ParamLayout::to_json() const {
  Json out = Json::array();
  for (const auto& s : segments_) out.push_back({{"name", s.name}, {"offset", s.offset}, {"shape", s.shape}});
  return out;
}

}  // namespace jnerf
