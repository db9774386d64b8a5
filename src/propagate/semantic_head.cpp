// Parallel scheme (as src/model/linear_cpu.cpp): one OpenMP region per evaluation, the
// rays split into one contiguous range per thread; each thread runs single-threaded
// Eigen products on its range and keeps a private gradient, summed afterwards in thread
// order (deterministic for a given thread count). Small batches run on the calling
// thread alone (Eigen's GEMM kept from starting a team of its own).
#if defined(__GNUC__) && !defined(__clang__)
// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen 3.4's AVX-512 packet code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "jnerf/propagate/semantic_head.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

#include <Eigen/Dense>

#include "jnerf/core/error.hpp"
#include "jnerf/core/parallel.hpp"
#include "jnerf/train/adam.hpp"
#include "small_mlp.hpp"

namespace jnerf {
namespace {

// Below this many multiply-adds an evaluation runs on the calling thread only.
constexpr double kParallelMinMacs = 1 << 22;



// Offsets of the four parameter blocks in SemanticHead::params.
struct Blocks {
  std::size_t w1, b1, w2, b2, end;
  explicit Blocks(const SemanticHead& h) {
    w1 = 0;
    b1 = w1 + static_cast<std::size_t>(h.hidden) * h.inputs;
    w2 = b1 + h.hidden;
    b2 = w2 + static_cast<std::size_t>(h.classes) * h.hidden;
    end = b2 + h.classes;
  }
};

void check_shapes(const SemanticHead& head, const SampleBatch& batch) {
  if (head.inputs != batch.dims)
    throw std::invalid_argument("semantic head: head reads " + std::to_string(head.inputs) +
                                " features, the batch has " + std::to_string(batch.dims));
  if (head.params.size() != Blocks(head).end) throw std::invalid_argument("semantic head: wrong parameter count");
  if (batch.ray_begin.empty() || batch.ray_begin.front() != 0 || batch.ray_begin.back() != batch.samples() ||
      batch.features.size() != batch.samples() * static_cast<std::size_t>(batch.dims))
    throw std::invalid_argument("semantic head: inconsistent sample batch");
  for (std::size_t r = 1; r < batch.ray_begin.size(); ++r)
    if (batch.ray_begin[r] < batch.ray_begin[r - 1]) throw std::invalid_argument("semantic head: inconsistent sample batch");
}

// The head's blocks as owned Eigen objects (aligned: the same arithmetic on every call).
struct Weights {
  Eigen::MatrixXd w1, w2;
  Eigen::VectorXd b1, b2;
  explicit Weights(const SemanticHead& h) {
    const Blocks o(h);
    w1 = ConstRowMap(h.params.data() + o.w1, h.hidden, h.inputs);
    b1 = Eigen::Map<const Eigen::VectorXd>(h.params.data() + o.b1, h.hidden);
    w2 = ConstRowMap(h.params.data() + o.w2, h.classes, h.hidden);
    b2 = Eigen::Map<const Eigen::VectorXd>(h.params.data() + o.b2, h.classes);
  }
};

// Rays [r0, r1): their rendered logits into columns r0.. of `logits` (C x R), and with
// targets the sum of their cross-entropies and, with grad, `scale` times its gradient
// added into grad (parameter layout).
double evaluate_rays(const SemanticHead& head, const Weights& p, const SampleBatch& batch, int r0, int r1,
                     Eigen::MatrixXd& logits, const int* targets, double scale, double* grad) {
  if (r0 >= r1) return 0;
  const auto N = static_cast<Eigen::Index>(batch.samples());
  const auto n0 = static_cast<Eigen::Index>(batch.ray_begin[r0]);
  const auto m = static_cast<Eigen::Index>(batch.ray_begin[r1]) - n0;
  const int R = r1 - r0, H = head.hidden, C = head.classes;
  const ColumnBlock x(batch.features.data() + n0, batch.dims, m, Eigen::OuterStride<>(N));
  Eigen::MatrixXd z(H, m);
  z.noalias() = p.w1 * x;
  z.colwise() += p.b1;
  // sum_i w_i (W2 a_i + b2) = W2 (sum_i w_i a_i) + b2 sum_i w_i.
  Eigen::MatrixXd composited = Eigen::MatrixXd::Zero(H, R);
  Eigen::VectorXd weight_sum = Eigen::VectorXd::Zero(R);
  for (int r = 0; r < R; ++r)
    for (std::size_t n = batch.ray_begin[r0 + r]; n < batch.ray_begin[r0 + r + 1]; ++n) {
      const double w = batch.weights[n];
      composited.col(r) += w * z.col(static_cast<Eigen::Index>(n) - n0).cwiseMax(0.0);
      weight_sum[r] += w;
    }
  Eigen::MatrixXd l(C, R);
  l.noalias() = p.w2 * composited;
  l += p.b2 * weight_sum.transpose();
  logits.middleCols(r0, R) = l;
  if (!targets) return 0;

  // d loss / d logits = scale (softmax - one-hot), per ray.
  double loss = 0;
  Eigen::MatrixXd g(C, R);
  for (int r = 0; r < R; ++r) {
    const int y = targets[r0 + r];
    const double top = l.col(r).maxCoeff();
    const Eigen::VectorXd e = (l.col(r).array() - top).exp().matrix();
    const double sum = e.sum();
    loss += top + std::log(sum) - l(y, r);
    g.col(r) = e / sum;
    g(y, r) -= 1.0;
  }
  if (!grad) return loss;
  g *= scale;
  const Blocks o(head);
  Eigen::MatrixXd d_w2(C, H), d_composited(H, R), d_w1(H, head.inputs);
  d_w2.noalias() = g * composited.transpose();
  const Eigen::VectorXd d_b2 = g * weight_sum;
  d_composited.noalias() = p.w2.transpose() * g;
  // Through the compositing and the ReLU: dZ_n = w_n dA_r . [z_n > 0].
  Eigen::MatrixXd dz(H, m);
  Eigen::VectorXd d_b1 = Eigen::VectorXd::Zero(H);
  for (int r = 0; r < R; ++r)
    for (std::size_t n = batch.ray_begin[r0 + r]; n < batch.ray_begin[r0 + r + 1]; ++n) {
      const Eigen::Index col = static_cast<Eigen::Index>(n) - n0;
      dz.col(col) = (z.col(col).array() > 0.0).select(batch.weights[n] * d_composited.col(r).array(), 0.0).matrix();
      d_b1 += dz.col(col);
    }
  d_w1.noalias() = dz * x.transpose();
  RowMap(grad + o.w1, H, head.inputs) += d_w1;
  Eigen::Map<Eigen::VectorXd>(grad + o.b1, H) += d_b1;
  RowMap(grad + o.w2, C, H) += d_w2;
  Eigen::Map<Eigen::VectorXd>(grad + o.b2, C) += d_b2;
  return loss;
}

// The whole batch: logits (C x R) and, with targets, the mean cross-entropy and its
// gradient (when grad is given).
double evaluate(const SemanticHead& head, const SampleBatch& batch, Eigen::MatrixXd& logits, const int* targets,
                std::vector<double>* grad) {
  check_shapes(head, batch);
  const int R = batch.rays();
  const Weights p(head);
  logits.resize(head.classes, R);
  const double macs = static_cast<double>(batch.samples()) * head.hidden * head.inputs +
                      static_cast<double>(R) * head.classes * head.hidden;
  const int threads = macs < kParallelMinMacs ? 1 : std::max(1, std::min(max_threads(), R));
  const std::size_t P = Blocks(head).end;
  std::vector<double> losses(threads, 0.0);
  std::vector<std::vector<double>> partial(grad ? threads : 0, std::vector<double>(P, 0.0));
  const double scale = R > 0 ? 1.0 / R : 0.0;
  if (threads == 1) {
    const SingleThreadScope serial;
    losses[0] = evaluate_rays(head, p, batch, 0, R, logits, targets, scale, grad ? partial[0].data() : nullptr);
  } else {
#pragma omp parallel num_threads(threads)
    {
      const int t = thread_index(), team = team_size();
      std::optional<SingleThreadScope> serial;  // a team of one (inside another region): no nested team
      if (team == 1) serial.emplace();
      const int r0 = static_cast<int>(static_cast<long long>(R) * t / team);
      const int r1 = static_cast<int>(static_cast<long long>(R) * (t + 1) / team);
      losses[t] = evaluate_rays(head, p, batch, r0, r1, logits, targets, scale, grad ? partial[t].data() : nullptr);
    }
  }
  double loss = 0;
  for (double l : losses) loss += l;
  if (grad) {
    grad->assign(P, 0.0);
    for (const auto& part : partial)
      for (std::size_t i = 0; i < P; ++i) (*grad)[i] += part[i];
  }
  return loss * scale;
}

std::vector<double> to_row_major(const Eigen::MatrixXd& m) {
  std::vector<double> out(static_cast<std::size_t>(m.size()));
  RowMap(out.data(), m.rows(), m.cols()) = m;
  return out;
}

// Rays [r0, r1) of a visited chunk (R x S samples) into the batch.
void append_rays(SampleBatch& batch, int R, int S, const std::vector<float>& w, const std::vector<float>& h,
                 double min_weight, int r0, int r1) {
  const std::size_t ns = static_cast<std::size_t>(R) * S;
  if (w.size() != ns || h.size() != ns * static_cast<std::size_t>(batch.dims))
    throw std::invalid_argument("semantic head: visited samples do not match R x S x V");
  std::vector<std::size_t> kept;
  const std::size_t old_n = batch.weights.size();
  for (int r = r0; r < r1; ++r) {
    for (int i = 0; i < S; ++i) {
      const std::size_t s = static_cast<std::size_t>(r) * S + i;
      if (static_cast<double>(w[s]) > min_weight) kept.push_back(s);
    }
    batch.ray_begin.push_back(old_n + kept.size());
  }
  // Features are feature-major, so each row grows: rebuilt once per call.
  const std::size_t add = kept.size(), new_n = old_n + add, V = static_cast<std::size_t>(batch.dims);
  std::vector<double> features(new_n * V);
  for (std::size_t f = 0; f < V; ++f) {
    std::copy(batch.features.begin() + f * old_n, batch.features.begin() + (f + 1) * old_n,
              features.begin() + f * new_n);
    for (std::size_t k = 0; k < add; ++k) features[f * new_n + old_n + k] = h[f * ns + kept[k]];
  }
  batch.features.swap(features);
  for (std::size_t s : kept) batch.weights.push_back(w[s]);
}


}  // namespace

// ---- settings ----------------------------------------------------------------------

SemanticHeadSettings SemanticHeadSettings::from_config(const Json& config) {
  SemanticHeadSettings s;
  s.hidden = config_get<int>(config, "propagate.semantic_head_hidden");
  s.steps = config_get<int>(config, "propagate.semantic_head_steps");
  s.lr = config_get<double>(config, "propagate.semantic_head_lr");
  s.min_weight = config_get<double>(config, "propagate.semantic_head_min_weight");
  s.max_rays = config_get<int>(config, "propagate.semantic_head_max_rays");
  s.seed = config_get<std::uint64_t>(config, "propagate.seed");
  s.validate();
  return s;
}

void SemanticHeadSettings::validate() const {
  if (hidden < 1) throw InputError("config key 'propagate.semantic_head_hidden' must be >= 1, got " + std::to_string(hidden));
  if (steps < 0) throw InputError("config key 'propagate.semantic_head_steps' must be >= 0, got " + std::to_string(steps));
  if (!(lr > 0) || !std::isfinite(lr))
    throw InputError("config key 'propagate.semantic_head_lr' must be a finite number > 0, got " + number_text(lr));
  if (!(min_weight >= 0) || !std::isfinite(min_weight))
    throw InputError("config key 'propagate.semantic_head_min_weight' must be a finite number >= 0, got " +
                     number_text(min_weight));
  if (max_rays < 1)
    throw InputError("config key 'propagate.semantic_head_max_rays' must be >= 1, got " + std::to_string(max_rays));
}

// ---- samples and head --------------------------------------------------------------

void SampleBatch::append(int R, int S, const std::vector<float>& w, const std::vector<float>& h, double min_weight) {
  append_rays(*this, R, S, w, h, min_weight, 0, R);
}

std::size_t SemanticHead::param_count(int inputs, int hidden, int classes) {
  SemanticHead h;
  h.inputs = inputs, h.hidden = hidden, h.classes = classes;
  return Blocks(h).end;
}

SemanticHead SemanticHead::init(int inputs, int hidden, int classes, std::uint64_t seed) {
  if (inputs < 1 || hidden < 1 || classes < 1) throw std::invalid_argument("semantic head: sizes must be >= 1");
  SemanticHead h;
  h.inputs = inputs, h.hidden = hidden, h.classes = classes;
  h.params.resize(param_count(inputs, hidden, classes));
  const Blocks o(h);
  std::mt19937_64 rng(seed);
  auto fill = [&](std::size_t begin, std::size_t end, int fan_in) {
    linear_default_init(h.params, begin, end, fan_in, rng);
  };
  fill(o.w1, o.b1, inputs);
  fill(o.b1, o.w2, inputs);
  fill(o.w2, o.b2, hidden);
  fill(o.b2, o.end, hidden);
  return h;
}

std::vector<double> render_logits(const SemanticHead& head, const SampleBatch& batch) {
  Eigen::MatrixXd logits;
  evaluate(head, batch, logits, nullptr, nullptr);
  return to_row_major(logits);
}

double head_loss(const SemanticHead& head, const SampleBatch& batch, const std::vector<int>& targets,
                 std::vector<double>* grad) {
  if (batch.rays() == 0) throw std::invalid_argument("semantic head: no rays");
  if (static_cast<int>(targets.size()) != batch.rays()) throw std::invalid_argument("semantic head: one target per ray");
  for (int t : targets)
    if (t < 0 || t >= head.classes) throw std::invalid_argument("semantic head: target class out of range");
  Eigen::MatrixXd logits;
  return evaluate(head, batch, logits, targets.data(), grad);
}

HeadTraining train_semantic_head(const SampleBatch& batch, const std::vector<int>& targets, int classes,
                                 const SemanticHeadSettings& settings) {
  settings.validate();
  HeadTraining out;
  out.head = SemanticHead::init(batch.dims, settings.hidden, classes, settings.seed);
  std::vector<double>& p = out.head.params;
  std::vector<double> m(p.size(), 0.0), v(p.size(), 0.0), grad;
  AdamConfig adam;
  adam.lr = static_cast<float>(settings.lr);
  adam.decay_rate = 1.f;  // constant learning rate
  adam.grad_clip = 0.f;
  for (int t = 1; t <= settings.steps; ++t) {
    const double loss = head_loss(out.head, batch, targets, &grad);
    if (t == 1) out.initial_loss = loss;
    if (!std::isfinite(loss))
      throw std::runtime_error("semantic head training diverged at step " + std::to_string(t) + " (loss " +
                               number_text(loss) + ")");
    // The head is small: one thread, through the per-element update shared with the NeRF.
    const AdamStep step = make_adam_step(adam, t, 0.0);
    for (std::size_t i = 0; i < p.size(); ++i) adam_update(step, p[i], m[i], v[i], grad[i]);
  }
  out.final_loss = head_loss(out.head, batch, targets, nullptr);
  if (settings.steps == 0) out.initial_loss = out.final_loss;
  return out;
}

std::vector<int> argmax_classes(const std::vector<double>& logits, int classes, int rays) {
  if (logits.size() != static_cast<std::size_t>(classes) * rays)
    throw std::invalid_argument("semantic head: logits are not classes x rays");
  return column_argmax(logits, classes, rays);
}

// ---- the baseline ------------------------------------------------------------------

SemanticHeadBaseline::SemanticHeadBaseline(NerfEngine& engine, const Frame& labelled, const Annotation& annotation,
                                           const SemanticHeadSettings& settings, int chunk)
    : settings_(settings) {
  settings_.validate();
  const int w = labelled.intrinsics.width, h = labelled.intrinsics.height;
  if (annotation.width != w || annotation.height != h)
    throw InputError("the annotation is for a " + std::to_string(annotation.width) + "x" +
                     std::to_string(annotation.height) + " image, but view '" + labelled.name + "' is " +
                     std::to_string(w) + "x" + std::to_string(h));
  if (annotation.clicks.empty()) throw InputError("the annotation of view '" + labelled.name + "' has no clicks");
  for (const Click& c : annotation.clicks)
    if (c.x < 0 || c.x >= w || c.y < 0 || c.y >= h)
      throw InputError("click (" + std::to_string(c.x) + ", " + std::to_string(c.y) + ") is outside view '" +
                       labelled.name + "'");
  labels_ = annotation.classes();

  // The clicks trained on: all, or a seeded uniform subset of max_rays (in listed order).
  std::vector<std::size_t> chosen(annotation.clicks.size());
  for (std::size_t i = 0; i < chosen.size(); ++i) chosen[i] = i;
  if (chosen.size() > static_cast<std::size_t>(settings_.max_rays)) {
    std::mt19937_64 rng(settings_.seed ^ 0x5e3a17c0ffee1234ULL);
    for (std::size_t i = 0; i < static_cast<std::size_t>(settings_.max_rays); ++i)
      std::swap(chosen[i], chosen[i + uniform_below(rng, chosen.size() - i)]);
    chosen.resize(settings_.max_rays);
    std::sort(chosen.begin(), chosen.end());
  }
  std::vector<std::int64_t> pixels;
  std::vector<int> targets;
  for (std::size_t i : chosen) {
    const Click& c = annotation.clicks[i];
    pixels.push_back(static_cast<std::int64_t>(c.y) * w + c.x);
    targets.push_back(static_cast<int>(std::lower_bound(labels_.begin(), labels_.end(), c.label) - labels_.begin()));
  }

  SampleBatch batch;
  batch.dims = engine.head_width();
  engine.visit_fine_samples(labelled, pixels, std::max(1, chunk),
                            [&](std::size_t first, int R, int S, const std::vector<float>& weights,
                                const std::vector<float>& head_input) {
                              if (first != static_cast<std::size_t>(batch.rays()))
                                throw std::logic_error("semantic head: fine samples visited out of order");
                              batch.append(R, S, weights, head_input, settings_.min_weight);
                            });
  rays_trained_ = batch.rays();
  training_ = train_semantic_head(batch, targets, static_cast<int>(labels_.size()), settings_);
}

std::vector<int> SemanticHeadBaseline::predict(NerfEngine& engine, const Frame& frame, int chunk,
                                               std::size_t group_samples) const {
  const SemanticHead& head = training_.head;
  if (engine.head_width() != head.inputs)
    throw InputError("the semantic head reads " + std::to_string(head.inputs) +
                     " head-input features, but the model has " + std::to_string(engine.head_width()));
  const std::size_t n = static_cast<std::size_t>(frame.intrinsics.width) * frame.intrinsics.height;
  std::vector<int> out(n, labels_.front());
  engine.visit_fine_samples(frame, {}, std::max(1, chunk),
                            [&](std::size_t first, int R, int S, const std::vector<float>& weights,
                                const std::vector<float>& head_input) {
                              const int group = static_cast<int>(
                                  std::clamp<std::size_t>(group_samples / std::max(1, S), 1, std::max(1, R)));
                              for (int r0 = 0; r0 < R; r0 += group) {
                                const int r1 = std::min(R, r0 + group);
                                SampleBatch batch;
                                batch.dims = head.inputs;
                                append_rays(batch, R, S, weights, head_input, settings_.min_weight, r0, r1);
                                const std::vector<int> cls =
                                    argmax_classes(render_logits(head, batch), head.classes, batch.rays());
                                for (int r = 0; r < batch.rays(); ++r) out[first + r0 + r] = labels_[cls[r]];
                              }
                            });
  return out;
}

}  // namespace jnerf
