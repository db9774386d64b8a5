#pragma once
// User annotations on the labelled frame, the input of label propagation: labelled
// pixels ("clicks"), either given by a user or simulated from a ground-truth label map.
//
// Simulated modes (classes visited in increasing id; void pixels are never clicked):
//   sparse   N clicks per class present (default 1), drawn uniformly without replacement
//            among that class's pixels; a class with fewer than N pixels gives them all.
//   regions  per class, seed regions covering at least a fraction f (e.g. 1% or 5%) of the
//            class's pixels: a random seed pixel's mask is grown by repeated 5x5 dilations
//            (over the whole image); the clicks are the class pixels inside the mask. When
//            a dilation adds no class pixel, another seed is drawn among the class pixels
//            not yet covered. The target is floor(f * class pixels), and the seed pixel is
//            always a click, so even a tiny class gets one.
//   dense    every non-void pixel.
// Within a class, clicks are listed in row-major pixel order. The draws come from
// std::mt19937_64(seed) through a bounded draw on its raw 64-bit output, so a seed gives
// the same clicks on every platform.
//
// File format (JSON; every key required, no others; "fraction" only, and always, for
// mode "regions"):
//   {
//     "format": "jnerf-annotations",
//     "version": 1,
//     "frame_id": 0,                    // index of the labelled frame, >= 0
//     "width": 320, "height": 240,      // size of that frame, > 0
//     "labels": "semantic",             // "semantic" or "instance"
//     "mode": "sparse",                 // "sparse", "regions" or "dense"
//     "fraction": 0.05,                 // regions only, in (0, 1]
//     "seed": 0,                        // unsigned 64-bit integer
//     "clicks": [[x, y, label], ...]    // 0 <= x < width, 0 <= y < height, label >= 0;
//   }                                   // at least one click, at most one per pixel
// See docs/ANNOTATIONS.md.
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"

namespace jnerf {

struct Click {
  int x = 0, y = 0, label = 0;
  bool operator==(const Click& o) const { return x == o.x && y == o.y && label == o.label; }
};

struct Annotation {
  int frame_id = 0;
  int width = 0, height = 0;
  std::string labels_kind = "semantic";  // "semantic" or "instance"
  std::string mode = "sparse";           // "sparse", "regions" or "dense"
  double fraction = 0;                   // the covered fraction per class; regions only
  std::uint64_t seed = 0;
  std::vector<Click> clicks;  // for regions and dense: every annotated pixel

  // The labels clicked, sorted, each once.
  std::vector<int> classes() const;
};

struct AnnotationSettings {
  std::string mode = "sparse";  // "sparse", "regions" or "dense"
  int clicks_per_class = 1;     // sparse
  double fraction = 0.01;       // regions, in (0, 1]
  int void_label = 0;           // pixels with this label (and negative labels) are never clicked
  std::string labels_kind = "semantic";
  std::uint64_t seed = 0;
};

// Simulates annotations from a ground-truth label map of width x height (row-major,
// y * width + x). InputError for a map of the wrong size or bad settings.
Annotation simulate_annotation(const std::vector<int>& labels, int width, int height, int frame_id,
                               const AnnotationSettings& settings);

// A uniform draw from 0..n-1 (n >= 1) on the raw 64-bit output of the engine, by
// rejection: unbiased and the same on every platform (unlike std::uniform_int_distribution,
// whose algorithm each standard library chooses).
std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t n);

Json annotation_to_json(const Annotation& annotation);
// Checks everything (format, version, keys, types, ranges, clicks inside the image);
// InputError naming `origin` (a file name) and the problem.
Annotation annotation_from_json(const Json& json, const std::string& origin);

void save_annotation(const std::filesystem::path& file, const Annotation& annotation);
Annotation load_annotation(const std::filesystem::path& file);

}  // namespace jnerf
