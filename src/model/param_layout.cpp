#include "jnerf/model/param_layout.hpp"

#include <cmath>

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

LinearParams add_linear(ParamLayout& layout, const std::string& name, int in, int out) {
  LinearParams l;
  l.in = in;
  l.out = out;
  l.name = name;
  l.weight = layout.add(name + ".weight", {out, in});
  l.bias = layout.add(name + ".bias", {out});
  return l;
}

void init_linear(const LinearParams& l, std::vector<float>& host, std::mt19937_64& rng) {
  const float bound = 1.f / std::sqrt(static_cast<float>(l.in));
  std::uniform_real_distribution<float> u(-bound, bound);
  for (int i = 0; i < l.out * l.in; ++i) host[l.weight + i] = u(rng);
  for (int i = 0; i < l.out; ++i) host[l.bias + i] = u(rng);
}

}  // namespace jnerf
