#pragma once
// Post-processing of per-class response maps into labels, for label propagation.
//
// A response map is one class's response (how much each pixel of a view changes when the
// weights move along that class's gradient), W x H floats, pixel (x, y) at y * W + x.
// In 2D mode each map goes through postprocess_response:
//   (a) values above `clip` are set to `clip`;
//   (b) a 3x3 Gaussian blur, as OpenCV's GaussianBlur(src, (3, 3), 0) on float images:
//       the fixed kernel [1/4, 1/2, 1/4] along rows, then along columns, with
//       reflect-101 borders (index -1 reads 1, index W reads W - 2; a dimension of one
//       pixel reads that pixel);
//   (c) division by (max + 1e-7);
//   (d) when the population standard deviation is below `absent_std` AND the mean below
//       `absent_mean`, the class is taken to be absent from this view and the map is set
//       to zero. (Mean and deviation are accumulated in double.)
// In 3D mode a map is only divided by (max + 1e-7) (normalise_by_max).
// The label of a pixel is then the class whose map is largest there (argmax_labels).
#include <vector>

namespace jnerf {

struct ResponseSettings {
  float clip = 0.8f;
  double absent_std = 0.05;
  double absent_mean = 0.01;
  bool blur = true;
};

// The 3x3 blur of step (b), in place. InputError when map.size() != W * H or W, H < 1.
void gaussian_blur3(std::vector<float>& map, int width, int height);

// Steps (a)-(d) in place. Returns false when the map was zeroed as absent, true otherwise.
// InputError when map.size() != W * H or W, H < 1.
bool postprocess_response(std::vector<float>& map, int width, int height, const ResponseSettings& settings = {});

// map /= (max(map) + 1e-7), in place (nothing for an empty map). A NaN anywhere makes the
// maximum NaN, as numpy's max does.
void normalise_by_max(std::vector<float>& map);

// Per pixel, ids[k] of the map k with the largest value. Ties go to the first such map;
// a NaN counts as larger than any number (the first NaN wins), as numpy's argmax does.
// (The reference takes the argmax of a softmax over the maps; softmax is increasing, so the
// winner is the same.) InputError when maps is empty, ids.size() != maps.size(), or a map
// does not have `pixels` values.
std::vector<int> argmax_labels(const std::vector<std::vector<float>>& maps, const std::vector<int>& ids, int pixels);

}  // namespace jnerf
