#pragma once
// Named segments of one flat parameter array. Names follow PyTorch state_dict keys
// (e.g. "fine.pts_linears.0.weight") so checkpoints and the oracle tests line up.
#include <cstddef>
#include <random>
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

// A linear layer's place in the flat array: W (out x in, row-major) then b (out).
struct LinearParams {
  int in = 0, out = 0;
  std::size_t weight = 0, bias = 0;
  std::string name;
};

// Registers "<name>.weight" and "<name>.bias".
LinearParams add_linear(ParamLayout& layout, const std::string& name, int in, int out);
// PyTorch's default nn.Linear init: W and b uniform in +-1/sqrt(in), drawn in that order.
void init_linear(const LinearParams& layer, std::vector<float>& host, std::mt19937_64& rng);

}  // namespace jnerf
