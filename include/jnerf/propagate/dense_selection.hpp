#pragma once
// Label propagation from dense labels on the labelled frame (the reference's dense
// setting): adaptive selection of a few pixel gradients per class, then a per-pixel
// response aggregator.
//
// Adaptive selection, `rounds` rounds (the reference: 5), classes = the ids > 0 present in
// the labelled frame's label map, in increasing order:
//   1. per class, `combinations` (20) pixels of that class are drawn uniformly WITH
//      replacement (as numpy's randint) from std::mt19937_64(seed) (uniform_below, in
//      class order, `combinations` draws per class); their own Jacobians are candidate
//      gradients;
//   2. each candidate's raw response map on the labelled frame (NerfEngine::head_responses
//      in the settings' mode). From the second round on, a class's candidate map is the
//      conditional response: the mean of the raw maps kept for that class in the earlier
//      rounds and the candidate's map;
//   3. that map is post-processed (2D modes: postprocess_response; 3D modes:
//      normalise_by_max). For each combination index j the labels of the labelled frame are
//      the argmax over classes of the j-th candidates' maps, scored by mIoU against its
//      label map (segmentation_metrics; void pixels and classes absent from the frame
//      ignored, `miou`);
//   4. the j with the best mIoU (the first of equals) is kept: every class appends its
//      j-th gradient and its j-th conditional raw map (in 2D modes clipped at
//      response.clip: the reference clips that array in place) to its selection.
//      As in the reference, a round whose best mIoU is not > 0 is drawn again (here at
//      most kMaxSelectionDraws times; the last draw is then kept).
// After selection every class holds `rounds` gradients.
//
// Prediction for a view: per class, the raw responses to its gradients are averaged and
// post-processed as above (the "mean response"); without the aggregator a pixel takes the
// class whose map is largest (argmax_labels). The aggregator is the reference's
// Response_Aggregator with W = 128, an MLP on a pixel's C post-processed responses:
//   logits = W3 relu(W2 relu(W1 x + b1) + b2) + b3    (C -> 128 -> 64 -> C)
// trained in double with softmax cross-entropy (mean over the non-void pixels) on the
// labelled frame's mean responses and labels, Adam (PyTorch semantics, constant learning
// rate), PyTorch's default Linear init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from
// std::mt19937_64; each step sees `batch` pixels drawn with replacement (0: all of them).
// A pixel then takes the class of its largest logit (the first of equals).
//
// Response arrays are class-major, map k of a view at [k * W*H, (k + 1) * W*H), pixel
// (x, y) at y * W + x. Classes are requested from the response function in groups of at
// most kMaxResponseFloats floats of output (at least one class per request). A selection
// round holds classes x combinations x W*H floats of candidate maps (the reference keeps
// the same). Aggregator evaluations run on fixed blocks of pixels spread over the OpenMP
// threads, with single-threaded Eigen products inside, so results do not depend on the
// thread count.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/eval/response_maps.hpp"
#include "jnerf/propagate/annotations.hpp"
#include "jnerf/propagate/propagation.hpp"
#include "jnerf/train/nerf_engine.hpp"

namespace jnerf {

inline constexpr int kMaxSelectionDraws = 10;
inline constexpr std::size_t kMaxResponseFloats = std::size_t(1) << 26;

// ---- the aggregator ----------------------------------------------------------------

struct AggregatorSettings {
  int hidden1 = 128, hidden2 = 64;
  int steps = 1000;
  double lr = 1e-3;
  int batch = 4096;       // pixels per step, drawn with replacement; 0 = every pixel
  std::uint64_t seed = 0; // init and batches

  void validate() const;  // InputError naming the config key
};

// Parameters in one flat array, PyTorch order: W1 (hidden1 x classes, row-major), b1,
// W2 (hidden2 x hidden1), b2, W3 (classes x hidden2), b3.
struct ResponseAggregator {
  int classes = 0, hidden1 = 0, hidden2 = 0;
  std::vector<double> params;

  static std::size_t param_count(int classes, int hidden1, int hidden2);
  static ResponseAggregator init(int classes, int hidden1, int hidden2, std::uint64_t seed);
};

// Logits of n pixels from their inputs, both classes x n (feature-major, [k * n + p]).
std::vector<double> aggregator_forward(const ResponseAggregator& agg, const std::vector<double>& inputs, int n);
// d L / d params (the parameter layout) for a loss with d L / d logits = d_logits (classes x n).
std::vector<double> aggregator_backward(const ResponseAggregator& agg, const std::vector<double>& inputs, int n,
                                        const std::vector<double>& d_logits);
// Mean softmax cross-entropy over the pixels whose target is >= 0 (a class index; a
// negative target, e.g. -1, is ignored as PyTorch's ignore_index); `grad` receives its gradient. 0 (and a zero
// gradient) when no pixel counts. inputs: classes x targets.size().
double aggregator_loss(const ResponseAggregator& agg, const std::vector<double>& inputs,
                       const std::vector<int>& targets, std::vector<double>* grad);
// Class index of the largest logit of each pixel (logits classes x n).
std::vector<int> aggregator_classes(const std::vector<double>& logits, int classes, int n);

struct AggregatorTraining {
  ResponseAggregator aggregator;
  double initial_loss = 0, final_loss = 0;  // over every counted pixel, before / after
  int pixels = 0;                           // pixels trained on (target >= 0)
};
// Trains a freshly initialised aggregator (settings.seed). inputs: classes x targets.size().
// InputError for bad settings, std::invalid_argument for mismatched shapes or no pixel.
AggregatorTraining train_aggregator(const std::vector<double>& inputs, const std::vector<int>& targets, int classes,
                                    const AggregatorSettings& settings);

// ---- settings ----------------------------------------------------------------------

struct DenseSettings {
  int rounds = 5;           // propagate.selection_rounds (= propagate.gradients_per_class)
  int combinations = 20;    // propagate.selection_combinations
  bool use_aggregator = true;  // propagate.aggregator
  AggregatorSettings aggregator;  // propagate.aggregator_{steps,lr,batch}
  std::uint64_t seed = 0;   // propagate.seed: the draws (the aggregator's seed too)

  static DenseSettings from_config(const Json& config);
  void validate() const;  // InputError naming the config key
};

// ---- selection without a NeRF --------------------------------------------------------

// Raw response maps of the labelled frame (rows x W*H) to the given directions (rows of
// `dims` doubles); for a NeRF, head_responses.
using ResponseFn = std::function<std::vector<float>(const std::vector<double>& directions)>;
// The gradients (pixels.size() x dims) of the given pixels of the labelled frame. Called
// once per draw with every class's candidates, class-major: class k's j-th candidate at
// k * combinations + j.
using PixelGradientFn = std::function<std::vector<double>(const std::vector<std::int64_t>& pixels)>;

struct SelectionProblem {
  int width = 0, height = 0;
  std::vector<int> truth_ids;  // W*H label ids of the labelled frame; <= 0 is void
  int dims = 0;
  PixelGradientFn gradients;
  ResponseFn responses;
  ResponseMode mode = ResponseMode::Linear2D;
  ResponseSettings response;
};

struct DenseSelection {
  std::vector<int> labels;          // the classes, sorted
  int dims = 0, rounds = 0;
  std::vector<double> gradients;    // class k's gradient of round r at (k * rounds + r) * dims
  std::vector<std::int64_t> pixels; // labels.size() x rounds: the pixel of each gradient
  std::vector<int> choice;          // per round, the combination kept
  std::vector<double> miou;         // per round, its mIoU on the labelled frame
  std::vector<int> draws;           // per round, how many draws it took
  std::vector<float> kept;          // labels.size() x rounds x W*H: the raw maps kept
};

// Runs the selection. `on_round(r, selection)` (optional) is called after each round.
// InputError when the label map does not fit or holds no class.
DenseSelection select_gradients(const SelectionProblem& problem, const DenseSettings& settings,
                                const std::function<void(int, const DenseSelection&)>& on_round = {});

// Per class, the mean of the raw responses to its `per_class` directions (rows
// k * per_class + g of `directions`), post-processed for `mode`: classes maps of W*H.
std::vector<std::vector<float>> mean_class_responses(const ResponseFn& responses, const std::vector<double>& directions,
                                                     int classes, int per_class, int dims, int width, int height,
                                                     ResponseMode mode, const ResponseSettings& response);

// ---- with a NeRF ---------------------------------------------------------------------

struct DenseModel {
  DenseSelection selection;
  JacobianSpec spec;
  bool use_aggregator = false;
  AggregatorTraining aggregator;  // when use_aggregator
  double labelled_miou = 0;       // mIoU on the labelled frame of the mean-response labels
  double labelled_miou_aggregated = 0;  // ... and of the aggregator's (when use_aggregator)
};

// The label map of a dense annotation: W*H ids, 0 where no pixel was clicked.
std::vector<int> annotation_label_map(const Annotation& annotation);

// Selection on `labelled` (its label map `truth_ids`, W*H, <= 0 void), then the aggregator
// (when settings say so) on its mean responses. Logs each round's best mIoU.
DenseModel select_dense(NerfEngine& engine, const Frame& labelled, const std::vector<int>& truth_ids,
                        const PropagationSettings& settings, const DenseSettings& dense, int chunk);

// Labels (ids of model.selection.labels) of every pixel of a view and the per-class mean
// responses.
ViewPrediction predict_dense(NerfEngine& engine, const Frame& frame, const DenseModel& model,
                             const PropagationSettings& settings, int chunk);

// The same from a view's post-processed mean responses (one map per class).
std::vector<int> dense_labels(const std::vector<std::vector<float>>& maps, const DenseModel& model);

}  // namespace jnerf
