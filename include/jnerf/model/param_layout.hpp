#pragma once
// Named segments of one flat parameter array. Names follow PyTorch state_dict keys
// (e.g. "fine.pts_linears.0.weight") so checkpoints and the oracle tests line up.
#include <cstddef>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"

namespace jnerf {

struct ParamSegment {
  std::string name;
  std::size_t offset = 0, size = 0;
  std::vector<int> shape;
};

class ParamLayout {
 public:
  // Appends a segment and returns its offset.
  std::size_t add(const std::string& name, std::vector<int> shape);
  std::size_t total() const { return total_; }
  const std::vector<ParamSegment>& segments() const { return segments_; }
  const ParamSegment& find(const std::string& name) const;  // InputError when absent
  Json to_json() const;

 private:
  std::vector<ParamSegment> segments_;
  std::size_t total_ = 0;
};

}  // namespace jnerf
