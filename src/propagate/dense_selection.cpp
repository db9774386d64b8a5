#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen 3.4's AVX-512 packet code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "jnerf/propagate/dense_selection.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include <Eigen/Dense>
#include <spdlog/spdlog.h>

#include "jnerf/core/error.hpp"
#include "jnerf/core/parallel.hpp"
#include "jnerf/eval/segmentation_metrics.hpp"
#include "jnerf/train/adam.hpp"
#include "small_mlp.hpp"

namespace jnerf {
namespace {

// Pixels per block of aggregator evaluation (bounds the activations' memory).
constexpr int kBlockPixels = 1024;


// ---- the aggregator ----------------------------------------------------------------

struct Blocks {
  std::size_t w1, b1, w2, b2, w3, b3, end;
  Blocks(int classes, int hidden1, int hidden2) {
    const std::size_t C = classes, H1 = hidden1, H2 = hidden2;
    w1 = 0;
    b1 = w1 + H1 * C;
    w2 = b1 + H1;
    b2 = w2 + H2 * H1;
    w3 = b2 + H2;
    b3 = w3 + C * H2;
    end = b3 + C;
  }
  explicit Blocks(const ResponseAggregator& a) : Blocks(a.classes, a.hidden1, a.hidden2) {}
};

// The parameter blocks as owned Eigen objects.
struct Net {
  Eigen::MatrixXd w1, w2, w3;
  Eigen::VectorXd b1, b2, b3;
  explicit Net(const ResponseAggregator& a) {
    const Blocks o(a);
    if (a.classes < 1 || a.hidden1 < 1 || a.hidden2 < 1 || a.params.size() != o.end)
      throw std::invalid_argument("response aggregator: bad sizes or parameter count");
    const double* p = a.params.data();
    w1 = ConstRowMap(p + o.w1, a.hidden1, a.classes);
    b1 = Eigen::Map<const Eigen::VectorXd>(p + o.b1, a.hidden1);
    w2 = ConstRowMap(p + o.w2, a.hidden2, a.hidden1);
    b2 = Eigen::Map<const Eigen::VectorXd>(p + o.b2, a.hidden2);
    w3 = ConstRowMap(p + o.w3, a.classes, a.hidden2);
    b3 = Eigen::Map<const Eigen::VectorXd>(p + o.b3, a.classes);
  }
};

struct Activations {
  Eigen::MatrixXd z1, a1, z2, a2, logits;
};

// Columns [p0, p0 + m) as an owned (aligned) matrix: every product then takes the same
// code path, whatever the caller's buffer alignment, so results are reproducible.
Eigen::MatrixXd columns(const std::vector<double>& x, int rows, int n, int p0, int m) {
  return ColumnBlock(x.data() + p0, rows, m, Eigen::OuterStride<>(n));
}

Activations forward_block(const Net& net, const Eigen::MatrixXd& x) {
  Activations a;
  a.z1.noalias() = net.w1 * x;
  a.z1.colwise() += net.b1;
  a.a1 = a.z1.cwiseMax(0.0);
  a.z2.noalias() = net.w2 * a.a1;
  a.z2.colwise() += net.b2;
  a.a2 = a.z2.cwiseMax(0.0);
  a.logits.noalias() = net.w3 * a.a2;
  a.logits.colwise() += net.b3;
  return a;
}

// Adds d L / d params for d L / d logits = g (classes x m) into grad (parameter layout).
void backward_block(const Net& net, const Blocks& o, const Eigen::MatrixXd& x, const Activations& a,
                    const Eigen::MatrixXd& g, double* grad) {
  const auto C = net.w3.rows(), H1 = net.w1.rows(), H2 = net.w2.rows();
  Eigen::MatrixXd d_w3, d_w2, d_w1, d2, d1;
  d_w3.noalias() = g * a.a2.transpose();
  d2.noalias() = net.w3.transpose() * g;
  d2 = (a.z2.array() > 0.0).select(d2, 0.0);
  d_w2.noalias() = d2 * a.a1.transpose();
  d1.noalias() = net.w2.transpose() * d2;
  d1 = (a.z1.array() > 0.0).select(d1, 0.0);
  d_w1.noalias() = d1 * x.transpose();
  // Reductions go to owned vectors first: evaluated straight into `grad` (any alignment),
  // Eigen would sum some rows in another order.
  const Eigen::VectorXd d_b3 = g.rowwise().sum(), d_b2 = d2.rowwise().sum(), d_b1 = d1.rowwise().sum();
  RowMap(grad + o.w3, C, H2) += d_w3;
  Eigen::Map<Eigen::VectorXd>(grad + o.b3, C) += d_b3;
  RowMap(grad + o.w2, H2, H1) += d_w2;
  Eigen::Map<Eigen::VectorXd>(grad + o.b2, H2) += d_b2;
  RowMap(grad + o.w1, H1, C) += d_w1;
  Eigen::Map<Eigen::VectorXd>(grad + o.b1, H1) += d_b1;
}

void check_inputs(const ResponseAggregator& agg, const std::vector<double>& inputs, int n) {
  if (n < 0 || inputs.size() != static_cast<std::size_t>(agg.classes) * static_cast<std::size_t>(n))
    throw std::invalid_argument("response aggregator: inputs are not classes x pixels");
}



int block_count(int n) { return (n + kBlockPixels - 1) / kBlockPixels; }

// Calls f(block, first pixel, pixels) for the fixed blocks of n pixels, spread over the
// threads. The blocks do not depend on the thread count, so neither do the results.
template <class F>
void for_blocks(int n, const F& f) {
  const int blocks = block_count(n);
  if (blocks == 0) return;
  const int threads = std::max(1, std::min(max_threads(), blocks));
  const SingleThreadScope serial;
  if (threads == 1) {
    for (int b = 0; b < blocks; ++b) f(b, b * kBlockPixels, std::min(kBlockPixels, n - b * kBlockPixels));
    return;
  }
  std::exception_ptr failure;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int b = 0; b < blocks; ++b) {
    try {
      f(b, b * kBlockPixels, std::min(kBlockPixels, n - b * kBlockPixels));
    } catch (...) {
#pragma omp critical(jnerf_dense_blocks)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

void sum_in_order(const std::vector<std::vector<double>>& partial, std::vector<double>& out) {
  for (const auto& part : partial)
    for (std::size_t i = 0; i < out.size(); ++i) out[i] += part[i];
}

// ---- selection ---------------------------------------------------------------------

// What the mIoU of a labelling of the labelled frame is scored against.
struct Scoring {
  std::vector<int> truth;  // metric ids: id - 1, void -> -1
  int num_classes = 0;
  std::vector<int> ignored;
  std::vector<bool> present;

  Scoring(const std::vector<int>& truth_ids, const std::vector<int>& classes) {
    for (int c : classes) num_classes = std::max(num_classes, c);
    truth.resize(truth_ids.size());
    for (std::size_t i = 0; i < truth_ids.size(); ++i) truth[i] = truth_ids[i] > 0 ? truth_ids[i] - 1 : -1;
    present.assign(num_classes, false);
    for (int c : classes) present[c - 1] = true;
    for (int c = 0; c < num_classes; ++c)
      if (!present[c]) ignored.push_back(c);
  }

  // mIoU of label ids (ids > 0) given per pixel.
  double miou(const std::vector<int>& ids) const {
    std::vector<int> predicted(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) predicted[i] = ids[i] - 1;
    return segmentation_metrics(truth, predicted, num_classes, ignored, present).miou;
  }
};

// Classes per request to the response function when each class has `per_class` maps.
int classes_per_request(int per_class, std::size_t pixels) {
  const std::size_t per = static_cast<std::size_t>(per_class) * std::max<std::size_t>(pixels, 1);
  return static_cast<int>(std::clamp<std::size_t>(kMaxResponseFloats / per, 1, 1 << 20));
}

std::vector<float> request(const ResponseFn& responses, const std::vector<double>& directions, std::size_t row0,
                           std::size_t rows, int dims, std::size_t pixels) {
  const std::vector<double> part(directions.begin() + row0 * dims, directions.begin() + (row0 + rows) * dims);
  std::vector<float> raw = responses(part);
  if (raw.size() != rows * pixels)
    throw std::runtime_error("dense selection: the response function returned " + std::to_string(raw.size()) +
                             " values for " + std::to_string(rows) + " directions of " + std::to_string(pixels) +
                             " pixels");
  return raw;
}

}  // namespace

// ---- the aggregator ----------------------------------------------------------------

void AggregatorSettings::validate() const {
  if (hidden1 < 1 || hidden2 < 1) throw InputError("the response aggregator's hidden widths must be >= 1");
  if (steps < 0) throw InputError("config key 'propagate.aggregator_steps' must be >= 0, got " + std::to_string(steps));
  if (!(lr > 0) || !std::isfinite(lr))
    throw InputError("config key 'propagate.aggregator_lr' must be a finite number > 0, got " + number_text(lr));
  if (batch < 0)
    throw InputError("config key 'propagate.aggregator_batch' must be >= 0 (0: every pixel), got " +
                     std::to_string(batch));
}

std::size_t ResponseAggregator::param_count(int classes, int hidden1, int hidden2) {
  return Blocks(classes, hidden1, hidden2).end;
}

ResponseAggregator ResponseAggregator::init(int classes, int hidden1, int hidden2, std::uint64_t seed) {
  if (classes < 1 || hidden1 < 1 || hidden2 < 1) throw std::invalid_argument("response aggregator: sizes must be >= 1");
  ResponseAggregator a;
  a.classes = classes, a.hidden1 = hidden1, a.hidden2 = hidden2;
  const Blocks o(a);
  a.params.resize(o.end);
  std::mt19937_64 rng(seed);
  auto fill = [&](std::size_t begin, std::size_t end, int fan_in) {
    linear_default_init(a.params, begin, end, fan_in, rng);
  };
  fill(o.w1, o.b1, classes);
  fill(o.b1, o.w2, classes);
  fill(o.w2, o.b2, hidden1);
  fill(o.b2, o.w3, hidden1);
  fill(o.w3, o.b3, hidden2);
  fill(o.b3, o.end, hidden2);
  return a;
}

std::vector<double> aggregator_forward(const ResponseAggregator& agg, const std::vector<double>& inputs, int n) {
  check_inputs(agg, inputs, n);
  const Net net(agg);
  std::vector<double> logits(inputs.size());
  for_blocks(n, [&](int, int p0, int m) {
    RowMap(logits.data(), agg.classes, n).middleCols(p0, m) =
        forward_block(net, columns(inputs, agg.classes, n, p0, m)).logits;
  });
  return logits;
}

std::vector<double> aggregator_backward(const ResponseAggregator& agg, const std::vector<double>& inputs, int n,
                                        const std::vector<double>& d_logits) {
  check_inputs(agg, inputs, n);
  if (d_logits.size() != inputs.size()) throw std::invalid_argument("response aggregator: d_logits is not classes x pixels");
  const Net net(agg);
  const Blocks o(agg);
  std::vector<std::vector<double>> partial(block_count(n), std::vector<double>(o.end, 0.0));
  for_blocks(n, [&](int b, int p0, int m) {
    const Eigen::MatrixXd x = columns(inputs, agg.classes, n, p0, m);
    const Eigen::MatrixXd g = columns(d_logits, agg.classes, n, p0, m);
    backward_block(net, o, x, forward_block(net, x), g, partial[b].data());
  });
  std::vector<double> grad(o.end, 0.0);
  sum_in_order(partial, grad);
  return grad;
}

double aggregator_loss(const ResponseAggregator& agg, const std::vector<double>& inputs,
                       const std::vector<int>& targets, std::vector<double>* grad) {
  const int n = static_cast<int>(targets.size());
  check_inputs(agg, inputs, n);
  int counted = 0;
  for (int t : targets) {
    if (t >= agg.classes) throw std::invalid_argument("response aggregator: target class out of range");
    if (t >= 0) ++counted;
  }
  const Net net(agg);
  const Blocks o(agg);
  if (grad) grad->assign(o.end, 0.0);
  if (counted == 0) return 0;
  const double scale = 1.0 / counted;
  const int blocks = block_count(n);
  std::vector<double> losses(blocks, 0.0);
  std::vector<std::vector<double>> partial(grad ? blocks : 0, std::vector<double>(o.end, 0.0));
  for_blocks(n, [&](int b, int p0, int m) {
    const Eigen::MatrixXd x = columns(inputs, agg.classes, n, p0, m);
    const Activations a = forward_block(net, x);
    Eigen::MatrixXd g = Eigen::MatrixXd::Zero(agg.classes, m);
    double loss = 0;
    for (int i = 0; i < m; ++i) {
      const int y = targets[p0 + i];
      if (y < 0) continue;
      const double top = a.logits.col(i).maxCoeff();
      const Eigen::VectorXd e = (a.logits.col(i).array() - top).exp().matrix();
      const double sum = e.sum();
      loss += top + std::log(sum) - a.logits(y, i);
      g.col(i) = e * (scale / sum);
      g(y, i) -= scale;
    }
    losses[b] = loss;
    if (grad) backward_block(net, o, x, a, g, partial[b].data());
  });
  if (grad) sum_in_order(partial, *grad);
  double loss = 0;
  for (double l : losses) loss += l;
  return loss * scale;
}

std::vector<int> aggregator_classes(const std::vector<double>& logits, int classes, int n) {
  if (classes < 1 || n < 0 || logits.size() != static_cast<std::size_t>(classes) * n)
    throw std::invalid_argument("response aggregator: logits are not classes x pixels");
  return column_argmax(logits, classes, n);
}

AggregatorTraining train_aggregator(const std::vector<double>& inputs, const std::vector<int>& targets, int classes,
                                    const AggregatorSettings& settings) {
  settings.validate();
  const int n = static_cast<int>(targets.size());
  if (classes < 1 || inputs.size() != static_cast<std::size_t>(classes) * n)
    throw std::invalid_argument("response aggregator: inputs are not classes x pixels");
  // The counted pixels only, gathered once.
  std::vector<int> kept;
  for (int p = 0; p < n; ++p) {
    if (targets[p] >= classes) throw std::invalid_argument("response aggregator: target class out of range");
    if (targets[p] >= 0) kept.push_back(p);
  }
  if (kept.empty()) throw std::invalid_argument("response aggregator: no pixel to train on");
  const int N = static_cast<int>(kept.size());
  std::vector<double> x(static_cast<std::size_t>(classes) * N);
  std::vector<int> y(N);
  for (int i = 0; i < N; ++i) {
    y[i] = targets[kept[i]];
    for (int c = 0; c < classes; ++c)
      x[static_cast<std::size_t>(c) * N + i] = inputs[static_cast<std::size_t>(c) * n + kept[i]];
  }

  AggregatorTraining out;
  out.pixels = N;
  out.aggregator = ResponseAggregator::init(classes, settings.hidden1, settings.hidden2, settings.seed);
  std::vector<double>& p = out.aggregator.params;
  std::vector<double> m(p.size(), 0.0), v(p.size(), 0.0), grad;
  AdamConfig adam;
  adam.lr = static_cast<float>(settings.lr);
  adam.decay_rate = 1.f;  // constant learning rate
  adam.grad_clip = 0.f;
  out.initial_loss = aggregator_loss(out.aggregator, x, y, nullptr);
  const bool full = settings.batch == 0 || settings.batch >= N;
  const int B = full ? N : settings.batch;
  std::mt19937_64 rng(settings.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<double> xb(full ? 0 : static_cast<std::size_t>(classes) * B);
  std::vector<int> yb(full ? 0 : B);
  for (int t = 1; t <= settings.steps; ++t) {
    if (!full)
      for (int i = 0; i < B; ++i) {
        const auto k = static_cast<std::size_t>(uniform_below(rng, static_cast<std::uint64_t>(N)));
        yb[i] = y[k];
        for (int c = 0; c < classes; ++c) xb[static_cast<std::size_t>(c) * B + i] = x[c * static_cast<std::size_t>(N) + k];
      }
    const double loss = aggregator_loss(out.aggregator, full ? x : xb, full ? y : yb, &grad);
    if (!std::isfinite(loss))
      throw std::runtime_error("response aggregator training diverged at step " + std::to_string(t) + " (loss " +
                               number_text(loss) + ")");
    const AdamStep step = make_adam_step(adam, t, 0.0);
    for (std::size_t i = 0; i < p.size(); ++i) adam_update(step, p[i], m[i], v[i], grad[i]);
  }
  out.final_loss = aggregator_loss(out.aggregator, x, y, nullptr);
  return out;
}

// ---- settings ----------------------------------------------------------------------

DenseSettings DenseSettings::from_config(const Json& config) {
  DenseSettings s;
  s.rounds = config_get<int>(config, "propagate.selection_rounds");
  s.combinations = config_get<int>(config, "propagate.selection_combinations");
  const int per_class = config_get<int>(config, "propagate.gradients_per_class");
  s.use_aggregator = config_get<bool>(config, "propagate.aggregator");
  s.aggregator.steps = config_get<int>(config, "propagate.aggregator_steps");
  s.aggregator.lr = config_get<double>(config, "propagate.aggregator_lr");
  s.aggregator.batch = config_get<int>(config, "propagate.aggregator_batch");
  s.seed = config_get<std::uint64_t>(config, "propagate.seed");
  s.aggregator.seed = s.seed;
  s.validate();
  if (per_class != s.rounds)
    throw InputError("config key 'propagate.gradients_per_class' (" + std::to_string(per_class) +
                     ") must equal 'propagate.selection_rounds' (" + std::to_string(s.rounds) +
                     "): adaptive selection keeps one gradient per class and round");
  return s;
}

void DenseSettings::validate() const {
  if (rounds < 1) throw InputError("config key 'propagate.selection_rounds' must be >= 1, got " + std::to_string(rounds));
  if (combinations < 1)
    throw InputError("config key 'propagate.selection_combinations' must be >= 1, got " + std::to_string(combinations));
  if (use_aggregator) aggregator.validate();
}

// ---- selection ---------------------------------------------------------------------

DenseSelection select_gradients(const SelectionProblem& problem, const DenseSettings& settings,
                                const std::function<void(int, const DenseSelection&)>& on_round) {
  settings.validate();
  const int w = problem.width, h = problem.height, D = problem.dims;
  if (w < 1 || h < 1 || problem.truth_ids.size() != static_cast<std::size_t>(w) * h)
    throw InputError("dense selection: the label map has " + std::to_string(problem.truth_ids.size()) +
                     " values, the labelled view " + std::to_string(w) + "x" + std::to_string(h) + " pixels");
  if (D < 1 || !problem.gradients || !problem.responses)
    throw std::invalid_argument("dense selection: no gradient dimension or callbacks");
  const std::size_t n = static_cast<std::size_t>(w) * h;

  DenseSelection sel;
  for (int id : problem.truth_ids)
    if (id > 0) sel.labels.push_back(id);
  std::sort(sel.labels.begin(), sel.labels.end());
  sel.labels.erase(std::unique(sel.labels.begin(), sel.labels.end()), sel.labels.end());
  if (sel.labels.empty()) throw InputError("dense selection: the labelled view's label map holds no labelled pixel");
  const int C = static_cast<int>(sel.labels.size()), K = settings.combinations, R = settings.rounds;
  std::vector<std::vector<std::int64_t>> members(C);
  for (std::size_t p = 0; p < n; ++p) {
    const int id = problem.truth_ids[p];
    if (id <= 0) continue;
    const auto k = std::lower_bound(sel.labels.begin(), sel.labels.end(), id) - sel.labels.begin();
    members[k].push_back(static_cast<std::int64_t>(p));
  }
  const Scoring scoring(problem.truth_ids, sel.labels);
  const float clip = problem.response.clip;
  const bool two_d = uses_2d_postprocess(problem.mode);  // the clip applies to these
  const int group = classes_per_request(K, n);

  sel.dims = D;
  sel.rounds = R;
  sel.gradients.assign(static_cast<std::size_t>(C) * R * D, 0.0);
  sel.pixels.assign(static_cast<std::size_t>(C) * R, 0);
  sel.kept.assign(static_cast<std::size_t>(C) * R * n, 0.f);
  std::vector<double> kept_sum(static_cast<std::size_t>(C) * n, 0.0);  // per class, the raw maps kept so far
  std::mt19937_64 rng(settings.seed);

  for (int r = 0; r < R; ++r) {
    std::vector<std::int64_t> pixels(static_cast<std::size_t>(C) * K);
    std::vector<double> grads;
    std::vector<float> candidates;  // C x K x n: the conditional raw maps
    int best = -1, draw = 0;
    double best_miou = std::numeric_limits<double>::quiet_NaN();
    while (draw < kMaxSelectionDraws) {
      ++draw;
      for (int k = 0; k < C; ++k)
        for (int j = 0; j < K; ++j)
          pixels[static_cast<std::size_t>(k) * K + j] = members[k][uniform_below(rng, members[k].size())];
      grads = problem.gradients(pixels);
      if (grads.size() != pixels.size() * D)
        throw std::runtime_error("dense selection: the gradient function returned " + std::to_string(grads.size()) +
                                 " values for " + std::to_string(pixels.size()) + " pixels of " +
                                 std::to_string(D) + " dims");
      candidates.assign(static_cast<std::size_t>(C) * K * n, 0.f);
      // Per combination, the running argmax over classes (argmax_labels' rules).
      std::vector<float> top(static_cast<std::size_t>(K) * n, 0.f);
      std::vector<int> winner(static_cast<std::size_t>(K) * n, 0);
      std::vector<float> map(n);
      for (int k0 = 0; k0 < C; k0 += group) {
        const int k1 = std::min(C, k0 + group);
        const std::vector<float> raw =
            request(problem.responses, grads, static_cast<std::size_t>(k0) * K, static_cast<std::size_t>(k1 - k0) * K, D, n);
        for (int k = k0; k < k1; ++k)
          for (int j = 0; j < K; ++j) {
            const float* in = raw.data() + (static_cast<std::size_t>(k - k0) * K + j) * n;
            float* cand = candidates.data() + (static_cast<std::size_t>(k) * K + j) * n;
            const double* sum = kept_sum.data() + static_cast<std::size_t>(k) * n;
            for (std::size_t p = 0; p < n; ++p) {
              float v = r == 0 ? in[p] : static_cast<float>((sum[p] + in[p]) / (r + 1));
              if (two_d && v > clip) v = clip;
              cand[p] = v;
            }
            std::copy(cand, cand + n, map.begin());
            finish_response_map(map, w, h, problem.mode, problem.response);
            float* t = top.data() + static_cast<std::size_t>(j) * n;
            int* win = winner.data() + static_cast<std::size_t>(j) * n;
            for (std::size_t p = 0; p < n; ++p) {
              const float v = map[p];
              if (k == 0) {
                t[p] = v, win[p] = 0;
              } else if (!std::isnan(t[p]) && (std::isnan(v) || v > t[p])) {
                t[p] = v, win[p] = k;
              }
            }
          }
      }
      best = -1;
      best_miou = std::numeric_limits<double>::quiet_NaN();
      std::vector<int> ids(n);
      for (int j = 0; j < K; ++j) {
        const int* win = winner.data() + static_cast<std::size_t>(j) * n;
        for (std::size_t p = 0; p < n; ++p) ids[p] = sel.labels[win[p]];
        const double m = scoring.miou(ids);
        if (!std::isnan(m) && (best < 0 || m > best_miou)) best = j, best_miou = m;
      }
      if (best >= 0 && best_miou > 0) break;
    }
    if (best < 0) best = 0;  // every mIoU undefined: keep the first combination
    for (int k = 0; k < C; ++k) {
      const std::size_t from = static_cast<std::size_t>(k) * K + best, to = static_cast<std::size_t>(k) * R + r;
      std::copy(grads.begin() + from * D, grads.begin() + (from + 1) * D, sel.gradients.begin() + to * D);
      sel.pixels[to] = pixels[from];
      const float* cand = candidates.data() + from * n;
      std::copy(cand, cand + n, sel.kept.begin() + to * n);
      double* sum = kept_sum.data() + static_cast<std::size_t>(k) * n;
      for (std::size_t p = 0; p < n; ++p) sum[p] += cand[p];
    }
    sel.choice.push_back(best);
    sel.miou.push_back(best_miou);
    sel.draws.push_back(draw);
    if (on_round) on_round(r, sel);
  }
  return sel;
}

std::vector<std::vector<float>> mean_class_responses(const ResponseFn& responses, const std::vector<double>& directions,
                                                     int classes, int per_class, int dims, int width, int height,
                                                     ResponseMode mode, const ResponseSettings& response) {
  if (classes < 1 || per_class < 1 || dims < 1 || width < 1 || height < 1 ||
      directions.size() != static_cast<std::size_t>(classes) * per_class * dims)
    throw std::invalid_argument("mean_class_responses: directions are not classes x per_class x dims");
  const std::size_t n = static_cast<std::size_t>(width) * height;
  const int group = classes_per_request(per_class, n);
  std::vector<std::vector<float>> maps;
  std::vector<double> mean(n);
  for (int k0 = 0; k0 < classes; k0 += group) {
    const int k1 = std::min(classes, k0 + group);
    const std::vector<float> raw = request(responses, directions, static_cast<std::size_t>(k0) * per_class,
                                           static_cast<std::size_t>(k1 - k0) * per_class, dims, n);
    for (int k = k0; k < k1; ++k) {
      std::fill(mean.begin(), mean.end(), 0.0);
      for (int g = 0; g < per_class; ++g) {
        const float* in = raw.data() + (static_cast<std::size_t>(k - k0) * per_class + g) * n;
        for (std::size_t p = 0; p < n; ++p) mean[p] += in[p];
      }
      std::vector<float> map(n);
      for (std::size_t p = 0; p < n; ++p) map[p] = static_cast<float>(mean[p] / per_class);
      finish_response_map(map, width, height, mode, response);
      maps.push_back(std::move(map));
    }
  }
  return maps;
}

// ---- with a NeRF ---------------------------------------------------------------------

std::vector<int> annotation_label_map(const Annotation& annotation) {
  if (annotation.width < 1 || annotation.height < 1) throw InputError("the annotation has no image size");
  std::vector<int> out(static_cast<std::size_t>(annotation.width) * annotation.height, 0);
  for (const Click& c : annotation.clicks) {
    if (c.x < 0 || c.x >= annotation.width || c.y < 0 || c.y >= annotation.height)
      throw InputError("click (" + std::to_string(c.x) + ", " + std::to_string(c.y) + ") is outside the " +
                       std::to_string(annotation.width) + "x" + std::to_string(annotation.height) + " annotation");
    out[static_cast<std::size_t>(c.y) * annotation.width + c.x] = c.label;
  }
  return out;
}

std::vector<int> dense_labels(const std::vector<std::vector<float>>& maps, const DenseModel& model) {
  const std::vector<int>& labels = model.selection.labels;
  if (maps.empty() || maps.size() != labels.size()) throw std::invalid_argument("dense_labels: one map per class");
  const int n = static_cast<int>(maps.front().size());
  if (!model.use_aggregator) return argmax_labels(maps, labels, n);
  const ResponseAggregator& agg = model.aggregator.aggregator;
  const int C = static_cast<int>(labels.size());
  if (agg.classes != C) throw std::invalid_argument("dense_labels: the aggregator does not fit the classes");
  for (const auto& m : maps)
    if (static_cast<int>(m.size()) != n) throw std::invalid_argument("dense_labels: maps of different sizes");
  std::vector<double> x(static_cast<std::size_t>(C) * n);
  for (int c = 0; c < C; ++c) std::copy(maps[c].begin(), maps[c].end(), x.begin() + static_cast<std::size_t>(c) * n);
  const std::vector<int> cls = aggregator_classes(aggregator_forward(agg, x, n), C, n);
  std::vector<int> out(n);
  for (int p = 0; p < n; ++p) out[p] = labels[cls[p]];
  return out;
}

DenseModel select_dense(NerfEngine& engine, const Frame& labelled, const std::vector<int>& truth_ids,
                        const PropagationSettings& settings, const DenseSettings& dense, int chunk) {
  const int w = labelled.intrinsics.width, h = labelled.intrinsics.height;
  const std::size_t n = static_cast<std::size_t>(w) * h;
  if (truth_ids.size() != n)
    throw InputError("the dense labels have " + std::to_string(truth_ids.size()) + " pixels, but view '" +
                     labelled.name + "' is " + std::to_string(w) + "x" + std::to_string(h));
  DenseModel model;
  model.spec = JacobianSpec{settings.channels, settings.bias, engine.head_width()};
  const JacobianSpec spec = model.spec;
  SelectionProblem problem;
  problem.width = w, problem.height = h;
  problem.truth_ids = truth_ids;
  problem.dims = spec.dims();
  problem.gradients = [&](const std::vector<std::int64_t>& pixels) {
    return engine.pixel_jacobians(labelled, pixels, spec, chunk, settings.annotation.seed);
  };
  problem.responses = [&](const std::vector<double>& directions) {
    return engine.head_responses(labelled, directions, spec, settings.step, settings.mode, chunk);
  };
  problem.mode = settings.mode;
  problem.response = settings.response;

  model.selection = select_gradients(problem, dense, [&](int r, const DenseSelection& s) {
    spdlog::info("dense selection round {}/{}: best mIoU {:.4f} on view '{}' (combination {} of {}, {} class(es){})",
                 r + 1, dense.rounds, s.miou.back(), labelled.name, s.choice.back() + 1, dense.combinations,
                 s.labels.size(), s.draws.back() > 1 ? ", " + std::to_string(s.draws.back()) + " draws" : "");
  });
  const DenseSelection& sel = model.selection;
  const int C = static_cast<int>(sel.labels.size());
  const auto maps = mean_class_responses(problem.responses, sel.gradients, C, sel.rounds, sel.dims, w, h,
                                         settings.mode, settings.response);
  const Scoring scoring(truth_ids, sel.labels);
  model.labelled_miou = scoring.miou(argmax_labels(maps, sel.labels, static_cast<int>(n)));
  if (dense.use_aggregator) {
    std::vector<double> inputs(static_cast<std::size_t>(C) * n);
    for (int c = 0; c < C; ++c)
      for (std::size_t p = 0; p < n; ++p) inputs[c * n + p] = maps[c][p];
    std::vector<int> targets(n, -1);
    for (std::size_t p = 0; p < n; ++p)
      if (truth_ids[p] > 0)
        targets[p] = static_cast<int>(std::lower_bound(sel.labels.begin(), sel.labels.end(), truth_ids[p]) -
                                      sel.labels.begin());
    model.aggregator = train_aggregator(inputs, targets, C, dense.aggregator);
    model.use_aggregator = true;
    model.labelled_miou_aggregated = scoring.miou(dense_labels(maps, model));
    spdlog::info("response aggregator ({} -> {} -> {} -> {}, {} steps on {} pixels): loss {:.4g} -> {:.4g}; "
                 "labelled view mIoU {:.4f} (mean response {:.4f})",
                 C, dense.aggregator.hidden1, dense.aggregator.hidden2, C, dense.aggregator.steps,
                 model.aggregator.pixels, model.aggregator.initial_loss, model.aggregator.final_loss,
                 model.labelled_miou_aggregated, model.labelled_miou);
  } else {
    spdlog::info("dense selection: labelled view mIoU {:.4f} with the mean response", model.labelled_miou);
  }
  return model;
}

ViewPrediction predict_dense(NerfEngine& engine, const Frame& frame, const DenseModel& model,
                             const PropagationSettings& settings, int chunk) {
  const DenseSelection& sel = model.selection;
  if (sel.labels.empty() || model.spec.dims() != sel.dims)
    throw std::invalid_argument("predict_dense: the model holds no selection for this engine's head");
  if (model.spec.head_width != engine.head_width())
    throw InputError("the dense selection was made for an RGB head of width " + std::to_string(model.spec.head_width) +
                     ", the model has " + std::to_string(engine.head_width()));
  const ResponseFn responses = [&](const std::vector<double>& directions) {
    return engine.head_responses(frame, directions, model.spec, settings.step, settings.mode, chunk);
  };
  ViewPrediction out;
  out.responses = mean_class_responses(responses, sel.gradients, static_cast<int>(sel.labels.size()), sel.rounds,
                                       sel.dims, frame.intrinsics.width, frame.intrinsics.height, settings.mode,
                                       settings.response);
  out.labels = dense_labels(out.responses, model);
  return out;
}

}  // namespace jnerf
