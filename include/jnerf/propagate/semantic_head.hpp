#pragma once
// The Semantic-NeRF baseline of label propagation, trained on the same clicks as the
// shaped NeRF.
//
// The reference baseline (Semantic-NeRF) adds a semantic head Linear(256->128)-ReLU-
// Linear(128->C) to the NeRF trunk, composites its per-sample logits with the density
// weights (L(r) = sum_i w_i s_i, no softmax before compositing) and trains it with
// cross-entropy on the labelled pixels, jointly with the photometric loss.
//
// This variant keeps the NeRF frozen (already trained) and reads the fine network's
// per-sample RGB-head input h_i (V dims, NerfEngine::visit_fine_samples) instead of the
// trunk, so that the head trains in seconds on the clicks alone:
//   head(h)  = W2 relu(W1 h + b1) + b2       W1: hidden x V, W2: C x hidden
//   L(r)     = sum_i w_i head(h_i)            over the fine samples of ray r
//   loss     = mean over the clicked rays of -log softmax(L(r))[y_r]
// where y_r is the position of the click's label in the sorted list of clicked labels.
// Adam (PyTorch semantics, constant learning rate), full batch of clicks, float64 on
// the CPU, PyTorch's default Linear init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights
// and biases drawn from std::mt19937_64(seed). A view is labelled by the argmax of L(r)
// per pixel (ties and rays without samples go to the first class).
//
// Two economies, both settings: samples whose compositing weight is at most
// `min_weight` are skipped (in training and prediction alike; each skipped sample moves
// L(r) by at most min_weight |head(h_i)|), and when there are more than `max_rays`
// clicks (dense or region annotations) a seeded uniform subset of them is trained on.
// Results are deterministic for a given thread count (small batches use one thread).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/propagate/annotations.hpp"
#include "jnerf/train/nerf_engine.hpp"

namespace jnerf {

struct SemanticHeadSettings {
  int hidden = 128;
  int steps = 300;
  double lr = 1e-2;
  double min_weight = 1e-4;  // samples with weight <= this are skipped (0: only zero weights)
  int max_rays = 1024;       // at most this many clicks are trained on
  std::uint64_t seed = 0;    // head init and click subset

  // propagate.semantic_head_{hidden,steps,lr,min_weight,max_rays} and propagate.seed.
  static SemanticHeadSettings from_config(const Json& config);
  void validate() const;  // InputError naming the bad value
};

// Fine samples of a batch of rays, rays of varying length: ray r owns samples
// [ray_begin[r], ray_begin[r + 1]); features are feature-major (dims x samples,
// features[f * samples + n]).
struct SampleBatch {
  int dims = 0;
  std::vector<std::size_t> ray_begin{0};  // rays + 1 entries
  std::vector<double> weights;            // one per sample
  std::vector<double> features;           // dims x samples

  int rays() const { return static_cast<int>(ray_begin.size()) - 1; }
  std::size_t samples() const { return weights.size(); }
  // Appends R rays of S samples each as visit_fine_samples gives them (weights R*S
  // ray-major, head input dims x R*S), keeping the samples with weight > min_weight.
  void append(int R, int S, const std::vector<float>& w, const std::vector<float>& h, double min_weight);
};

// The head's parameters, one flat array in PyTorch order: W1 (hidden x inputs, row-major),
// b1 (hidden), W2 (classes x hidden), b2 (classes).
struct SemanticHead {
  int inputs = 0, hidden = 0, classes = 0;
  std::vector<double> params;

  static std::size_t param_count(int inputs, int hidden, int classes);
  static SemanticHead init(int inputs, int hidden, int classes, std::uint64_t seed);
};

// Rendered logits of every ray of the batch: classes x rays, logits[c * rays + r].
std::vector<double> render_logits(const SemanticHead& head, const SampleBatch& batch);

// Mean softmax cross-entropy of the rendered logits against `targets` (one class index
// per ray); when `grad` is given it receives d loss / d head.params (same layout).
double head_loss(const SemanticHead& head, const SampleBatch& batch, const std::vector<int>& targets,
                 std::vector<double>* grad);

struct HeadTraining {
  SemanticHead head;
  double initial_loss = 0;  // before the first step
  double final_loss = 0;    // with the trained head
};
// Trains a freshly initialised head (settings.seed) on the batch with Adam.
HeadTraining train_semantic_head(const SampleBatch& batch, const std::vector<int>& targets, int classes,
                                 const SemanticHeadSettings& settings);

// Class index (into `classes`) of the largest rendered logit of each ray.
std::vector<int> argmax_classes(const std::vector<double>& logits, int classes, int rays);

class SemanticHeadBaseline {
 public:
  // Trains on the annotation's clicks of `labelled`, reading the fine samples of the NeRF
  // the engine holds. InputError when the annotation does not fit the view, has no
  // clicks, or the settings are out of range.
  SemanticHeadBaseline(NerfEngine& engine, const Frame& labelled, const Annotation& annotation,
                       const SemanticHeadSettings& settings, int chunk);

  // Label ids (from labels()) of every pixel of a view, row-major W*H. The head runs on
  // groups of rays of at most `group_samples` fine samples (bounds its memory).
  std::vector<int> predict(NerfEngine& engine, const Frame& frame, int chunk,
                           std::size_t group_samples = std::size_t(1) << 16) const;

  const std::vector<int>& labels() const { return labels_; }  // the clicked labels, sorted
  double initial_loss() const { return training_.initial_loss; }
  double final_loss() const { return training_.final_loss; }
  int rays_trained() const { return rays_trained_; }
  const SemanticHead& head() const { return training_.head; }

 private:
  SemanticHeadSettings settings_;
  std::vector<int> labels_;
  HeadTraining training_;
  int rays_trained_ = 0;
};

}  // namespace jnerf
