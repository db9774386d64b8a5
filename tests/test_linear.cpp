// Linear layers: CPU forward against a naive triple loop, backward against central finite
// differences (double), float against double, odd sizes; CUDA hand-written kernels
// against the CPU and cuBLAS (skipped without a GPU).
#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/model/linear.hpp"

#ifdef JNERF_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using jnerf::Activation;
using Vec = std::vector<double>;

Vec random_vec(size_t count, std::mt19937& rng, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Vec v(count);
  for (double& x : v) x = dist(rng);
  return v;
}

template <class T, class U>
std::vector<T> cast(const std::vector<U>& v) {
  return std::vector<T>(v.begin(), v.end());
}

Vec abs_vec(const Vec& v) {
  Vec a(v.size());
  std::transform(v.begin(), v.end(), a.begin(), [](double x) { return std::fabs(x); });
  return a;
}

// Z = W X + b by the definition (no activation).
Vec naive_preactivation(const Vec& W, const Vec& b, const Vec& X, int in, int out, int n) {
  Vec Z(size_t(out) * n);
  for (int r = 0; r < out; ++r)
    for (int s = 0; s < n; ++s) {
      long double acc = b[r];
      for (int i = 0; i < in; ++i) acc += static_cast<long double>(W[size_t(r) * in + i]) * X[size_t(i) * n + s];
      Z[size_t(r) * n + s] = static_cast<double>(acc);
    }
  return Z;
}

Vec naive_forward(const Vec& W, const Vec& b, const Vec& X, int in, int out, int n, Activation act) {
  Vec Y = naive_preactivation(W, b, X, in, out, n);
  if (act == Activation::ReLU)
    for (double& y : Y) y = y > 0 ? y : 0;
  return Y;
}

struct NaiveGrads {
  Vec dW, db, dX;
};

// dZ = dY * act'(Y); dW = dZ X^T; db = rowsum dZ; dX = W^T dZ (no accumulation).
NaiveGrads naive_backward(const Vec& W, const Vec& X, const Vec& Y, const Vec& dY, int in, int out, int n,
                          Activation act) {
  Vec dZ(dY);
  if (act == Activation::ReLU)
    for (size_t k = 0; k < dZ.size(); ++k) dZ[k] = Y[k] > 0 ? dY[k] : 0;
  NaiveGrads g{Vec(size_t(out) * in, 0.0), Vec(out, 0.0), Vec(size_t(in) * n, 0.0)};
  for (int r = 0; r < out; ++r)
    for (int s = 0; s < n; ++s) {
      const double z = dZ[size_t(r) * n + s];
      g.db[r] += z;
      for (int i = 0; i < in; ++i) {
        g.dW[size_t(r) * in + i] += z * X[size_t(i) * n + s];
        g.dX[size_t(i) * n + s] += W[size_t(r) * in + i] * z;
      }
    }
  return g;
}

double max_abs(const Vec& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Every |a - b| <= tol * scale_k (+ 1e-30), reporting the first offender.
template <class A, class B>
::testing::AssertionResult close_scaled(const A& a, const B& b, const Vec& scale, double tol, const char* what) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << what << ": size mismatch";
  for (size_t k = 0; k < a.size(); ++k) {
    const double diff = std::fabs(double(a[k]) - double(b[k]));
    if (!(diff <= tol * scale[k] + 1e-30))
      return ::testing::AssertionFailure() << what << "[" << k << "]: " << double(a[k]) << " vs " << double(b[k])
                                           << " (|diff| " << diff << " > " << tol << " * " << scale[k] << ")";
  }
  return ::testing::AssertionSuccess();
}

Vec constant_vec(size_t count, double value) { return Vec(count, value); }

struct Shape {
  int in, out, n;
};

std::string act_name(Activation act) { return act == Activation::ReLU ? "ReLU" : "None"; }

// ---- finite-difference set-up: L = sum(Y .* R) ---------------------------------------

struct FdProblem {
  int in, out, n;
  Vec W, b, X, R;
};

double loss(const Vec& W, const Vec& b, const Vec& X, const Vec& R, int in, int out, int n, Activation act) {
  Vec Y(size_t(out) * n);
  jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), Y.data(), in, out, n, act);
  double L = 0;
  for (size_t k = 0; k < Y.size(); ++k) L += Y[k] * R[k];
  return L;
}

// Random problem whose pre-activations all stay >= 1e-2 away from the ReLU kink (the
// finite-difference steps below move them by at most ~1e-5), with both signs present.
FdProblem make_fd_problem(int in, int out, int n, unsigned seed) {
  for (unsigned attempt = 0;; ++attempt) {
    std::mt19937 rng(seed + 1000 * attempt);
    FdProblem p{in, out, n, random_vec(size_t(out) * in, rng), random_vec(out, rng, -0.5, 0.5),
                random_vec(size_t(in) * n, rng), random_vec(size_t(out) * n, rng)};
    const Vec Z = naive_preactivation(p.W, p.b, p.X, in, out, n);
    double closest = 1e300;
    int positive = 0;
    for (double z : Z) {
      closest = std::min(closest, std::fabs(z));
      positive += z > 0;
    }
    if (closest > 1e-2 && positive > 0 && positive < int(Z.size())) return p;
  }
}

// Central differences of L over every entry of `param` (a copy is perturbed in place).
Vec finite_differences(FdProblem p, Vec FdProblem::*param, Activation act) {
  const double h = 1e-5;
  Vec& v = p.*param;
  Vec g(v.size());
  for (size_t k = 0; k < v.size(); ++k) {
    const double saved = v[k];
    v[k] = saved + h;
    const double lp = loss(p.W, p.b, p.X, p.R, p.in, p.out, p.n, act);
    v[k] = saved - h;
    const double lm = loss(p.W, p.b, p.X, p.R, p.in, p.out, p.n, act);
    v[k] = saved;
    g[k] = (lp - lm) / (2 * h);
  }
  return g;
}

// Relative error < 1e-6 (entries below 1e-3 in size compared absolutely at 1e-9).
::testing::AssertionResult matches_fd(const Vec& analytic, const Vec& fd, const char* what) {
  Vec scale(fd.size());
  for (size_t k = 0; k < fd.size(); ++k) scale[k] = std::max(std::fabs(fd[k]), 1e-3);
  return close_scaled(analytic, fd, scale, 1e-6, what);
}

}  // namespace

// ---- CPU --------------------------------------------------------------------------

TEST(LinearMath, ActivationAndItsDerivativeFromTheOutput) {
  // The per-element functions of kernels/linear.cuh, which the CUDA kernels call too.
  using jnerf::activation_backward;
  using jnerf::activation_forward;
  EXPECT_EQ(activation_forward(2.5f, Activation::ReLU), 2.5f);
  EXPECT_EQ(activation_forward(-2.5f, Activation::ReLU), 0.f);
  EXPECT_EQ(activation_forward(-2.5f, Activation::None), -2.5f);
  EXPECT_TRUE(std::isnan(activation_forward(std::nanf(""), Activation::ReLU)));
  EXPECT_EQ(activation_backward(0.5, 3.0, Activation::ReLU), 3.0);
  EXPECT_EQ(activation_backward(0.0, 3.0, Activation::ReLU), 0.0);  // an inactive unit (output clamped to 0)
  EXPECT_EQ(activation_backward(0.0, 3.0, Activation::None), 3.0);
  EXPECT_EQ(activation_backward(-1.0, 3.0, Activation::None), 3.0);
}

TEST(LinearCpu, ForwardMatchesNaiveTripleLoop) {
  std::mt19937 rng(1);
  for (const Shape s : {Shape{5, 4, 9}, Shape{63, 256, 37}, Shape{283, 128, 50}, Shape{256, 1, 4099}})
    for (Activation act : {Activation::None, Activation::ReLU}) {
      SCOPED_TRACE(std::to_string(s.in) + "->" + std::to_string(s.out) + " n=" + std::to_string(s.n) + " " +
                   act_name(act));
      const Vec W = random_vec(size_t(s.out) * s.in, rng), b = random_vec(s.out, rng),
                X = random_vec(size_t(s.in) * s.n, rng);
      Vec Y(size_t(s.out) * s.n, -7.0);
      jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), Y.data(), s.in, s.out, s.n, act);
      const Vec ref = naive_forward(W, b, X, s.in, s.out, s.n, act);
      const Vec scale = naive_forward(abs_vec(W), abs_vec(b), abs_vec(X), s.in, s.out, s.n, Activation::None);
      EXPECT_TRUE(close_scaled(Y, ref, scale, 1e-13, "Y"));
      if (act == Activation::ReLU) {
        EXPECT_GT(std::count(Y.begin(), Y.end(), 0.0), 0);  // the activation did something
        EXPECT_EQ(*std::min_element(Y.begin(), Y.end()), 0.0);
      }
    }
}

TEST(LinearCpu, BackwardMatchesFiniteDifferences) {
  for (Activation act : {Activation::None, Activation::ReLU}) {
    SCOPED_TRACE(act_name(act));
    const FdProblem p = make_fd_problem(6, 5, 11, 7);
    const Vec gW = finite_differences(p, &FdProblem::W, act);
    const Vec gb = finite_differences(p, &FdProblem::b, act);
    const Vec gX = finite_differences(p, &FdProblem::X, act);

    Vec Y(size_t(p.out) * p.n);
    jnerf::linear_forward_cpu<double>(p.W.data(), p.b.data(), p.X.data(), Y.data(), p.in, p.out, p.n, act);
    const Vec& dY = p.R;  // dL/dY of L = sum(Y .* R)
    Vec dW(p.W.size(), 0.0), db(p.out, 0.0), dX(p.X.size(), 123.0), scratch(dY.size(), 0.0);
    jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), dY.data(), dW.data(), db.data(), dX.data(),
                                       p.in, p.out, p.n, act, scratch.data(), false);
    EXPECT_TRUE(matches_fd(dW, gW, "dW"));
    EXPECT_TRUE(matches_fd(db, gb, "db"));
    EXPECT_TRUE(matches_fd(dX, gX, "dX"));  // overwritten, not added to 123
    if (act == Activation::ReLU) {
      // scratch holds dZ: zero exactly where the unit is off.
      for (size_t k = 0; k < Y.size(); ++k) EXPECT_EQ(scratch[k], Y[k] > 0 ? dY[k] : 0.0) << k;
    }
  }
}

TEST(LinearCpu, BackwardAccumulatesIntoExistingGradients) {
  for (Activation act : {Activation::None, Activation::ReLU}) {
    SCOPED_TRACE(act_name(act));
    const FdProblem p = make_fd_problem(7, 4, 13, 21);
    const Vec gW = finite_differences(p, &FdProblem::W, act);
    const Vec gb = finite_differences(p, &FdProblem::b, act);
    const Vec gX = finite_differences(p, &FdProblem::X, act);
    Vec Y(size_t(p.out) * p.n);
    jnerf::linear_forward_cpu<double>(p.W.data(), p.b.data(), p.X.data(), Y.data(), p.in, p.out, p.n, act);

    std::mt19937 rng(5);
    const Vec dW0 = random_vec(p.W.size(), rng), db0 = random_vec(p.out, rng), dX0 = random_vec(p.X.size(), rng);
    Vec dW = dW0, db = db0, dX = dX0, scratch(Y.size());
    jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), p.R.data(), dW.data(), db.data(), dX.data(),
                                       p.in, p.out, p.n, act, scratch.data(), true);
    Vec ddW(dW.size()), ddb(db.size()), ddX(dX.size());
    for (size_t k = 0; k < dW.size(); ++k) ddW[k] = dW[k] - dW0[k];
    for (size_t k = 0; k < db.size(); ++k) ddb[k] = db[k] - db0[k];
    for (size_t k = 0; k < dX.size(); ++k) ddX[k] = dX[k] - dX0[k];
    EXPECT_TRUE(matches_fd(ddW, gW, "dW increment"));
    EXPECT_TRUE(matches_fd(ddb, gb, "db increment"));
    EXPECT_TRUE(matches_fd(ddX, gX, "dX increment"));
  }
}

TEST(LinearCpu, FrozenLayerAndInPlaceScratch) {
  // dW = db = nullptr (frozen layer) still gives dX; scratch aliasing dY gives the same
  // dX and leaves dZ in the dY buffer; dX = nullptr skips dX.
  const Activation act = Activation::ReLU;
  const FdProblem p = make_fd_problem(9, 6, 17, 33);
  const Vec gX = finite_differences(p, &FdProblem::X, act);
  Vec Y(size_t(p.out) * p.n);
  jnerf::linear_forward_cpu<double>(p.W.data(), p.b.data(), p.X.data(), Y.data(), p.in, p.out, p.n, act);

  Vec dX(p.X.size()), scratch(Y.size());
  jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), p.R.data(), nullptr, nullptr, dX.data(), p.in,
                                     p.out, p.n, act, scratch.data(), false);
  EXPECT_TRUE(matches_fd(dX, gX, "dX (frozen layer)"));

  Vec dY = p.R, dX2(p.X.size());
  jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), dY.data(), nullptr, nullptr, dX2.data(), p.in,
                                     p.out, p.n, act, dY.data(), false);
  EXPECT_EQ(dX2, dX);
  EXPECT_EQ(dY, scratch);  // dZ now sits in the dY buffer

  const Vec gW = finite_differences(p, &FdProblem::W, act);
  Vec dW(p.W.size(), 0.0);
  jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), p.R.data(), dW.data(), nullptr, nullptr, p.in,
                                     p.out, p.n, act, scratch.data(), false);
  EXPECT_TRUE(matches_fd(dW, gW, "dW (no dX, no db)"));
}

TEST(LinearCpu, NoActivationNeedsNoScratch) {
  const FdProblem p = make_fd_problem(4, 3, 5, 3);
  const Vec gb = finite_differences(p, &FdProblem::b, Activation::None);
  const Vec gX = finite_differences(p, &FdProblem::X, Activation::None);
  Vec Y(size_t(p.out) * p.n), db(p.out, 0.0), dX(p.X.size());
  const Vec dY = p.R;
  jnerf::linear_forward_cpu<double>(p.W.data(), p.b.data(), p.X.data(), Y.data(), p.in, p.out, p.n,
                                    Activation::None);
  jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), dY.data(), nullptr, db.data(), dX.data(), p.in,
                                     p.out, p.n, Activation::None, nullptr, false);
  EXPECT_TRUE(matches_fd(db, gb, "db"));
  EXPECT_TRUE(matches_fd(dX, gX, "dX"));
  EXPECT_EQ(dY, p.R);  // not written
  EXPECT_THROW(jnerf::linear_backward_cpu<double>(p.W.data(), p.X.data(), Y.data(), dY.data(), nullptr, db.data(),
                                                  dX.data(), p.in, p.out, p.n, Activation::ReLU, nullptr, false),
               std::invalid_argument);
}

TEST(LinearCpu, OddSizesMatchNaive) {
  // in=63 (the position encoding), out=1 (the density head), n=7; and wider odd shapes,
  // including n spanning several element-wise chunks.
  std::mt19937 rng(11);
  for (const Shape s : {Shape{63, 1, 7}, Shape{1, 1, 1}, Shape{319, 3, 13}, Shape{283, 128, 3}, Shape{5, 7, 9001}})
    for (Activation act : {Activation::None, Activation::ReLU})
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(std::to_string(s.in) + "->" + std::to_string(s.out) + " n=" + std::to_string(s.n) + " " +
                     act_name(act) + (accumulate ? " accumulate" : ""));
        const Vec W = random_vec(size_t(s.out) * s.in, rng), b = random_vec(s.out, rng),
                  X = random_vec(size_t(s.in) * s.n, rng), dY = random_vec(size_t(s.out) * s.n, rng);
        Vec Y(size_t(s.out) * s.n);
        jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), Y.data(), s.in, s.out, s.n, act);
        const Vec Yref = naive_forward(W, b, X, s.in, s.out, s.n, act);
        const Vec Yscale = naive_forward(abs_vec(W), abs_vec(b), abs_vec(X), s.in, s.out, s.n, Activation::None);
        EXPECT_TRUE(close_scaled(Y, Yref, Yscale, 1e-13, "Y"));

        const Vec dW0 = random_vec(W.size(), rng), db0 = random_vec(b.size(), rng), dX0 = random_vec(X.size(), rng);
        Vec dW = accumulate ? dW0 : Vec(W.size(), 0.0), db = accumulate ? db0 : Vec(b.size(), 0.0),
            dX = dX0, scratch(Y.size());
        jnerf::linear_backward_cpu<double>(W.data(), X.data(), Y.data(), dY.data(), dW.data(), db.data(), dX.data(),
                                           s.in, s.out, s.n, act, scratch.data(), accumulate);
        NaiveGrads g = naive_backward(W, X, Y, dY, s.in, s.out, s.n, act);
        const NaiveGrads gs = naive_backward(abs_vec(W), abs_vec(X), Y, abs_vec(dY), s.in, s.out, s.n, act);
        if (accumulate) {
          for (size_t k = 0; k < dW.size(); ++k) g.dW[k] += dW0[k];
          for (size_t k = 0; k < db.size(); ++k) g.db[k] += db0[k];
          for (size_t k = 0; k < dX.size(); ++k) g.dX[k] += dX0[k];
        }
        Vec sW = gs.dW, sb = gs.db, sX = gs.dX;
        for (size_t k = 0; k < sW.size(); ++k) sW[k] += std::fabs(dW0[k]) + 1e-300;
        for (size_t k = 0; k < sb.size(); ++k) sb[k] += std::fabs(db0[k]) + 1e-300;
        for (size_t k = 0; k < sX.size(); ++k) sX[k] += std::fabs(dX0[k]) + 1e-300;
        EXPECT_TRUE(close_scaled(dW, g.dW, sW, 1e-12, "dW"));
        EXPECT_TRUE(close_scaled(db, g.db, sb, 1e-12, "db"));
        EXPECT_TRUE(close_scaled(dX, g.dX, sX, 1e-12, "dX"));
      }
}

TEST(LinearCpu, FloatAgreesWithDouble) {
  const int in = 256, out = 256, n = 1000;
  std::mt19937 rng(2024);
  const double bound = 1.0 / std::sqrt(double(in));  // PyTorch-like init keeps activations O(1)
  // Round the inputs to float first so the comparison measures arithmetic only.
  auto rounded = [](Vec v) {
    for (double& x : v) x = double(float(x));
    return v;
  };
  const Vec W = rounded(random_vec(size_t(out) * in, rng, -bound, bound)), b = rounded(random_vec(out, rng, -bound, bound)),
            X = rounded(random_vec(size_t(in) * n, rng)), dY = rounded(random_vec(size_t(out) * n, rng));
  for (Activation act : {Activation::None, Activation::ReLU}) {
    SCOPED_TRACE(act_name(act));
    Vec Yd(size_t(out) * n);
    std::vector<float> Yf(Yd.size());
    jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), Yd.data(), in, out, n, act);
    const auto Wf = cast<float>(W), bf = cast<float>(b), Xf = cast<float>(X), dYf = cast<float>(dY);
    jnerf::linear_forward_cpu<float>(Wf.data(), bf.data(), Xf.data(), Yf.data(), in, out, n, act);
    const Vec Yscale = naive_forward(abs_vec(W), abs_vec(b), abs_vec(X), in, out, n, Activation::None);
    EXPECT_TRUE(close_scaled(Yf, Yd, Yscale, 1e-5, "Y"));

    // Backward from the same (double) forward output, so both see the same ReLU mask.
    const auto Ydf = cast<float>(Yd);
    Vec dWd(W.size(), 0.0), dbd(out, 0.0), dXd(X.size()), sd(Yd.size());
    std::vector<float> dWf(W.size(), 0.f), dbf(out, 0.f), dXf(X.size()), sf(Yd.size());
    jnerf::linear_backward_cpu<double>(W.data(), X.data(), cast<double>(Ydf).data(), dY.data(), dWd.data(),
                                       dbd.data(), dXd.data(), in, out, n, act, sd.data(), false);
    jnerf::linear_backward_cpu<float>(Wf.data(), Xf.data(), Ydf.data(), dYf.data(), dWf.data(), dbf.data(),
                                      dXf.data(), in, out, n, act, sf.data(), false);
    const NaiveGrads gs = naive_backward(abs_vec(W), abs_vec(X), cast<double>(Ydf), abs_vec(dY), in, out, n, act);
    EXPECT_TRUE(close_scaled(dWf, dWd, gs.dW, 1e-5, "dW"));
    EXPECT_TRUE(close_scaled(dbf, dbd, gs.db, 1e-5, "db"));
    EXPECT_TRUE(close_scaled(dXf, dXd, gs.dX, 1e-5, "dX"));
    EXPECT_GT(max_abs(dWd), 1.0);  // the comparison is not vacuous
  }
}

TEST(LinearCpu, MlpParamCountIsTheSumOfTheLayers) {
  // 63 -> 64 -> 64 -> 64 -> 3: three hidden layers, four weight matrices with biases.
  EXPECT_EQ(jnerf::mlp_param_count(63, 64, 3, 3), 64LL * 63 + 64 + 2 * (64 * 64 + 64) + 3 * 64 + 3);
  EXPECT_EQ(jnerf::mlp_param_count(32, 128, 1, 16), 128LL * 32 + 128 + 16 * 128 + 16);
}

#ifdef _OPENMP
TEST(LinearCpu, ThreadCountDoesNotChangeResults) {
  // The CPU code splits the samples over threads (dW/db as per-thread partials): 1, 2 and
  // 3 threads must agree to rounding, and a repeat with the same count be bit-identical.
  const int in = 37, out = 19, n = 5003;
  std::mt19937 rng(9);
  const Vec W = random_vec(size_t(out) * in, rng), b = random_vec(out, rng), X = random_vec(size_t(in) * n, rng),
            dY = random_vec(size_t(out) * n, rng);
  const int saved = omp_get_max_threads();
  std::vector<Vec> results;
  for (int threads : {1, 2, 3, 3}) {
    omp_set_num_threads(threads);
    Vec Y(size_t(out) * n), dW(W.size(), 0.0), db(out, 0.0), dX(X.size()), scratch(Y.size());
    jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), Y.data(), in, out, n, Activation::ReLU);
    jnerf::linear_backward_cpu<double>(W.data(), X.data(), Y.data(), dY.data(), dW.data(), db.data(), dX.data(), in,
                                       out, n, Activation::ReLU, scratch.data(), false);
    Vec all = Y;
    all.insert(all.end(), dW.begin(), dW.end());
    all.insert(all.end(), db.begin(), db.end());
    all.insert(all.end(), dX.begin(), dX.end());
    results.push_back(all);
  }
  omp_set_num_threads(saved);
  for (size_t k = 1; k < results.size(); ++k) {
    Vec scale(results[0].size());
    for (size_t i = 0; i < scale.size(); ++i) scale[i] = std::fabs(results[0][i]) + 1.0;
    EXPECT_TRUE(close_scaled(results[k], results[0], scale, 1e-12, "threads"));
  }
  EXPECT_EQ(results[3], results[2]);  // same thread count: bit-identical
}
#endif

TEST(LinearCpu, EmptyBatch) {
  const Vec W(6, 1.0), b(2, 1.0);
  Vec dW(6, 5.0), db(2, 5.0);
  jnerf::linear_forward_cpu<double>(W.data(), b.data(), nullptr, nullptr, 3, 2, 0, Activation::ReLU);
  jnerf::linear_backward_cpu<double>(W.data(), nullptr, nullptr, nullptr, dW.data(), db.data(), nullptr, 3, 2, 0,
                                     Activation::ReLU, nullptr, false);
  EXPECT_EQ(dW, Vec(6, 5.0));
  EXPECT_EQ(db, Vec(2, 5.0));
}

// ---- CUDA conformance ------------------------------------------------------------------
#ifdef JNERF_HAVE_CUDA
namespace {

#define JN_REQUIRE_CUDA()                                                                                  \
  do {                                                                                                     \
    int devices_ = 0;                                                                                      \
    const cudaError_t err_ = cudaGetDeviceCount(&devices_);                                                \
    if (err_ != cudaSuccess || devices_ == 0) {                                                            \
      cudaGetLastError();                                                                                  \
      GTEST_SKIP() << "no CUDA device: " << cudaGetErrorString(err_) << " (error " << int(err_) << ")"; \
    }                                                                                                      \
  } while (0)

// A device copy of a float vector, optionally starting `offset` floats into the
// allocation (offset 1 defeats 16-byte alignment and exercises the scalar paths). No
// slack after the last element, so a checker (compute-sanitizer) sees any overrun.
class DeviceVec {
 public:
  DeviceVec(const std::vector<float>& host, int offset = 0) : count_(host.size()) {
    if (cudaMalloc(reinterpret_cast<void**>(&base_), sizeof(float) * std::max<size_t>(host.size() + offset, 1)) != cudaSuccess) throw std::bad_alloc();
    ptr_ = base_ + offset;
    if (!host.empty()) cudaMemcpy(ptr_, host.data(), sizeof(float) * host.size(), cudaMemcpyHostToDevice);
  }
  ~DeviceVec() { cudaFree(base_); }
  DeviceVec(const DeviceVec&) = delete;
  DeviceVec& operator=(const DeviceVec&) = delete;
  float* get() const { return ptr_; }
  std::vector<float> host() const {
    std::vector<float> h(count_);
    if (count_) cudaMemcpy(h.data(), ptr_, sizeof(float) * count_, cudaMemcpyDeviceToHost);
    return h;
  }

 private:
  float* base_ = nullptr;
  float* ptr_ = nullptr;
  size_t count_;
};

Vec rounded_random(size_t count, std::mt19937& rng, double lo, double hi) {
  Vec v = random_vec(count, rng, lo, hi);
  for (double& x : v) x = double(float(x));
  return v;
}

// GPU float arithmetic vs the double CPU result on the same (float-rounded) inputs:
// |gpu - ref| <= tol * (the same sum taken over absolute values), the scale of the
// rounding error of any summation order.
constexpr double kGpuTol = 3e-5;

struct CudaCase {
  Shape s;
  int offset;  // misalign every device buffer by this many floats
};

const std::vector<CudaCase>& cuda_cases() {
  static const std::vector<CudaCase> cases = {
      {{63, 256, 1000}, 0},   {{256, 256, 4096}, 0},  {{256, 256, 9000}, 0}, {{256, 1, 777}, 0},
      {{283, 128, 1029}, 0},  {{128, 3, 4099}, 0},    {{319, 256, 333}, 1},  {{256, 256, 7}, 0},
      {{5, 17, 130}, 1},      {{256, 256, 16389}, 0}, {{1, 1, 1}, 0},        {{64, 64, 4096}, 1},
      {{0, 5, 9}, 0},         {{7, 0, 9}, 0},         {{7, 5, 0}, 0},  // empty: Y = act(b), nothing, nothing
      {{64, 64, 3000}, 0},    {{21, 64, 3000}, 0},    {{64, 16, 3000}, 0},  // the hash grid's MLP shapes
  };
  return cases;
}

void run_forward_case(const CudaCase& c, Activation act, std::mt19937& rng) {
  const Shape s = c.s;
  const double bound = 1.0 / std::sqrt(double(std::max(s.in, 1)));
  const Vec W = rounded_random(size_t(s.out) * s.in, rng, -bound, bound), b = rounded_random(s.out, rng, -bound, bound),
            X = rounded_random(size_t(s.in) * s.n, rng, -1, 1);
  Vec ref(size_t(s.out) * s.n), scale(ref.size());
  jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), ref.data(), s.in, s.out, s.n, act);
  const Vec aW = abs_vec(W), ab = abs_vec(b), aX = abs_vec(X);
  jnerf::linear_forward_cpu<double>(aW.data(), ab.data(), aX.data(), scale.data(), s.in, s.out, s.n,
                                    Activation::None);
  for (double& x : scale) x += 1e-30;

  DeviceVec dW(cast<float>(W), c.offset), db(cast<float>(b), c.offset), dX(cast<float>(X), c.offset);
  DeviceVec dY(std::vector<float>(ref.size(), -99.f), c.offset), dYc(std::vector<float>(ref.size(), -99.f), c.offset);
  jnerf::linear_forward_cuda(dW.get(), db.get(), dX.get(), dY.get(), s.in, s.out, s.n, act);
  jnerf::linear_forward_cublas(dW.get(), db.get(), dX.get(), dYc.get(), s.in, s.out, s.n, act);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto hand = dY.host(), blas = dYc.host();
  EXPECT_TRUE(close_scaled(hand, ref, scale, kGpuTol, "Y hand vs CPU"));
  EXPECT_TRUE(close_scaled(blas, ref, scale, kGpuTol, "Y cuBLAS vs CPU"));
  EXPECT_TRUE(close_scaled(hand, blas, scale, 2 * kGpuTol, "Y hand vs cuBLAS"));
}

void run_backward_case(const CudaCase& c, Activation act, bool accumulate, bool with_params, std::mt19937& rng,
                       void* stream = nullptr) {
  const Shape s = c.s;
  const double bound = 1.0 / std::sqrt(double(std::max(s.in, 1)));
  const Vec W = rounded_random(size_t(s.out) * s.in, rng, -bound, bound), b = rounded_random(s.out, rng, -bound, bound),
            X = rounded_random(size_t(s.in) * s.n, rng, -1, 1), dY = rounded_random(size_t(s.out) * s.n, rng, -1, 1);
  Vec Y(size_t(s.out) * s.n);
  jnerf::linear_forward_cpu<double>(W.data(), b.data(), X.data(), Y.data(), s.in, s.out, s.n, act);
  for (double& y : Y) y = double(float(y));  // the GPU gets exactly these outputs
  const Vec dW0 = rounded_random(W.size(), rng, -1, 1), db0 = rounded_random(b.size(), rng, -1, 1),
            dX0 = rounded_random(X.size(), rng, -1, 1);

  // Double reference and error scales (the same sums over absolute values).
  Vec rW = accumulate ? dW0 : Vec(W.size(), 0.0), rb = accumulate ? db0 : Vec(b.size(), 0.0),
      rX = accumulate ? dX0 : Vec(X.size(), 0.0), dZ(Y.size());
  jnerf::linear_backward_cpu<double>(W.data(), X.data(), Y.data(), dY.data(), rW.data(), rb.data(), rX.data(), s.in,
                                     s.out, s.n, act, dZ.data(), accumulate);
  if (act == Activation::None) dZ = dY;
  Vec sW(W.size(), 0.0), sb(b.size(), 0.0), sX(X.size(), 0.0);
  const Vec aW = abs_vec(W), aX = abs_vec(X), adZ = abs_vec(dZ);
  jnerf::linear_backward_cpu<double>(aW.data(), aX.data(), Y.data(), adZ.data(), sW.data(), sb.data(), sX.data(),
                                     s.in, s.out, s.n, Activation::None, nullptr, false);
  for (size_t k = 0; k < sW.size(); ++k) sW[k] += (accumulate ? std::fabs(dW0[k]) : 0) + 1e-30;
  for (size_t k = 0; k < sb.size(); ++k) sb[k] += (accumulate ? std::fabs(db0[k]) : 0) + 1e-30;
  for (size_t k = 0; k < sX.size(); ++k) sX[k] += (accumulate ? std::fabs(dX0[k]) : 0) + 1e-30;

  struct Out {
    std::vector<float> dW, db, dX, dZ;
  };
  auto run = [&](bool blas) {
    DeviceVec gW(cast<float>(W), c.offset), gX(cast<float>(X), c.offset), gY(cast<float>(Y), c.offset),
        gdY(cast<float>(dY), c.offset), gscratch(std::vector<float>(Y.size(), 0.f), c.offset);
    DeviceVec gdW(cast<float>(accumulate ? dW0 : Vec(W.size(), 0.0)), c.offset),
        gdb(cast<float>(accumulate ? db0 : Vec(b.size(), 0.0)), c.offset), gdX(cast<float>(dX0), c.offset);
    auto fn = blas ? jnerf::linear_backward_cublas : jnerf::linear_backward_cuda;
    fn(gW.get(), gX.get(), gY.get(), gdY.get(), with_params ? gdW.get() : nullptr, with_params ? gdb.get() : nullptr,
       gdX.get(), s.in, s.out, s.n, act, gscratch.get(), accumulate, stream);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    return Out{gdW.host(), gdb.host(), gdX.host(), gscratch.host()};
  };
  const Out hand = run(false), blas = run(true);
  EXPECT_TRUE(close_scaled(hand.dX, rX, sX, kGpuTol, "dX hand vs CPU"));
  EXPECT_TRUE(close_scaled(blas.dX, rX, sX, kGpuTol, "dX cuBLAS vs CPU"));
  EXPECT_TRUE(close_scaled(hand.dX, blas.dX, sX, 2 * kGpuTol, "dX hand vs cuBLAS"));
  if (with_params) {
    EXPECT_TRUE(close_scaled(hand.dW, rW, sW, kGpuTol, "dW hand vs CPU"));
    EXPECT_TRUE(close_scaled(blas.dW, rW, sW, kGpuTol, "dW cuBLAS vs CPU"));
    EXPECT_TRUE(close_scaled(hand.dW, blas.dW, sW, 2 * kGpuTol, "dW hand vs cuBLAS"));
    EXPECT_TRUE(close_scaled(hand.db, rb, sb, kGpuTol, "db hand vs CPU"));
    EXPECT_TRUE(close_scaled(blas.db, rb, sb, kGpuTol, "db cuBLAS vs CPU"));
  } else {
    EXPECT_EQ(hand.dW, cast<float>(Vec(W.size(), 0.0)));  // untouched
    EXPECT_EQ(hand.db, cast<float>(Vec(b.size(), 0.0)));
  }
  if (act == Activation::ReLU) {
    EXPECT_EQ(hand.dZ, cast<float>(dZ));  // dZ is exact: a copy or a zero
  }
}

}  // namespace

TEST(CudaConformanceLinear, ForwardMatchesCpuAndCublas) {
  JN_REQUIRE_CUDA();
  std::mt19937 rng(77);
  for (const CudaCase& c : cuda_cases())
    for (Activation act : {Activation::None, Activation::ReLU}) {
      SCOPED_TRACE(std::to_string(c.s.in) + "->" + std::to_string(c.s.out) + " n=" + std::to_string(c.s.n) +
                   " offset=" + std::to_string(c.offset) + " " + act_name(act));
      run_forward_case(c, act, rng);
    }
}

TEST(CudaConformanceLinear, BackwardMatchesCpuAndCublas) {
  JN_REQUIRE_CUDA();
  std::mt19937 rng(78);
  for (const CudaCase& c : cuda_cases())
    for (Activation act : {Activation::None, Activation::ReLU})
      for (bool accumulate : {false, true}) {
        SCOPED_TRACE(std::to_string(c.s.in) + "->" + std::to_string(c.s.out) + " n=" + std::to_string(c.s.n) +
                     " offset=" + std::to_string(c.offset) + " " + act_name(act) +
                     (accumulate ? " accumulate" : ""));
        run_backward_case(c, act, accumulate, true, rng);
      }
}

TEST(CudaConformanceLinear, FrozenLayerOnAStream) {
  JN_REQUIRE_CUDA();
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  std::mt19937 rng(79);
  for (const CudaCase& c : {CudaCase{{256, 256, 5000}, 0}, CudaCase{{63, 1, 7}, 0}})
    for (Activation act : {Activation::None, Activation::ReLU}) {
      SCOPED_TRACE(std::to_string(c.s.in) + "->" + std::to_string(c.s.out) + " " + act_name(act));
      run_backward_case(c, act, false, false, rng, stream);
    }
  cudaStreamDestroy(stream);
}

TEST(CudaConformanceLinear, InPlaceScratch) {
  JN_REQUIRE_CUDA();
  // scratch == dY: dZ overwrites dY, results unchanged.
  const int in = 100, out = 70, n = 3001;
  std::mt19937 rng(80);
  const auto W = cast<float>(random_vec(size_t(out) * in, rng, -0.1, 0.1)),
             X = cast<float>(random_vec(size_t(in) * n, rng)), Y = cast<float>(random_vec(size_t(out) * n, rng)),
             dYh = cast<float>(random_vec(size_t(out) * n, rng));
  DeviceVec gW(W), gX(X), gY(Y), gdY(dYh), gS(std::vector<float>(Y.size())), gdX1(std::vector<float>(X.size())),
      gdX2(std::vector<float>(X.size()));
  jnerf::linear_backward_cuda(gW.get(), gX.get(), gY.get(), gdY.get(), nullptr, nullptr, gdX1.get(), in, out, n,
                              Activation::ReLU, gS.get(), false);
  jnerf::linear_backward_cuda(gW.get(), gX.get(), gY.get(), gdY.get(), nullptr, nullptr, gdX2.get(), in, out, n,
                              Activation::ReLU, gdY.get(), false);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(gdX1.host(), gdX2.host());
  EXPECT_EQ(gdY.host(), gS.host());
}

// Sizes the kernels cannot launch are argument errors, before any launch.
TEST(CudaConformanceLinear, SizesOutOfRangeAreArgumentErrors) {
  JN_REQUIRE_CUDA();
  for (int out : {-1, 65536}) {
    SCOPED_TRACE(out);
    EXPECT_THROW(jnerf::linear_forward_cuda(nullptr, nullptr, nullptr, nullptr, 4, out, 8, Activation::ReLU),
                 std::invalid_argument);
    EXPECT_THROW(jnerf::linear_forward_cublas(nullptr, nullptr, nullptr, nullptr, 4, out, 8, Activation::ReLU),
                 std::invalid_argument);
    EXPECT_THROW(jnerf::linear_backward_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 4, out, 8,
                                             Activation::None, nullptr, false),
                 std::invalid_argument);
  }
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // nothing was launched
}

// Fully fused MLP forward vs chained linear_forward_cuda and the chained CPU layers.
TEST(CudaConformanceFusedMlp, ForwardMatchesChainedLayers) {
  JN_REQUIRE_CUDA();
  struct MlpCase {
    int in, width, hidden, out, n;
    Activation act;
  };
  const MlpCase cases[] = {
      {32, 64, 2, 16, 1000, Activation::None}, {63, 64, 3, 1, 4099, Activation::ReLU},
      {63, 128, 2, 3, 777, Activation::None},  {32, 128, 4, 128, 130, Activation::ReLU},
      {128, 128, 1, 7, 7, Activation::None},   {200, 64, 2, 3, 300, Activation::None},
      {1, 64, 1, 64, 129, Activation::ReLU},
  };
  std::mt19937 rng(81);
  for (const MlpCase& m : cases) {
    SCOPED_TRACE("in " + std::to_string(m.in) + " width " + std::to_string(m.width) + " hidden " +
                 std::to_string(m.hidden) + " out " + std::to_string(m.out) + " n " + std::to_string(m.n));
    ASSERT_TRUE(jnerf::mlp_fused_supported(m.in, m.width, m.hidden, m.out));
    // Layers (rows x cols): width x in, (hidden - 1) x width x width, out x width.
    std::vector<Shape> layers{{m.in, m.width, m.n}};
    for (int l = 1; l < m.hidden; ++l) layers.push_back({m.width, m.width, m.n});
    layers.push_back({m.width, m.out, m.n});
    Vec params;
    for (const Shape& L : layers) {
      const double bound = 1.0 / std::sqrt(double(L.in));
      const Vec Wl = rounded_random(size_t(L.out) * L.in, rng, -bound, bound), bl = rounded_random(L.out, rng, -bound, bound);
      params.insert(params.end(), Wl.begin(), Wl.end());
      params.insert(params.end(), bl.begin(), bl.end());
    }
    ASSERT_EQ(static_cast<long long>(params.size()), jnerf::mlp_param_count(m.in, m.width, m.hidden, m.out));
    const Vec X = rounded_random(size_t(m.in) * m.n, rng, -1, 1);

    // CPU chain in double, and the same chain over absolute values as the error scale;
    // every layer's result is kept (the hidden ones are checked too).
    Vec ref = X, scale = abs_vec(X);
    std::vector<Vec> ref_layers, scale_layers;
    const Vec aparams = abs_vec(params);
    size_t offset = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      const Shape& L = layers[l];
      const Activation act = l + 1 == layers.size() ? m.act : Activation::ReLU;
      Vec next(size_t(L.out) * m.n), next_scale(next.size());
      const size_t boff = offset + size_t(L.out) * L.in;
      jnerf::linear_forward_cpu<double>(params.data() + offset, params.data() + boff, ref.data(), next.data(), L.in,
                                        L.out, m.n, act);
      jnerf::linear_forward_cpu<double>(aparams.data() + offset, aparams.data() + boff, scale.data(),
                                        next_scale.data(), L.in, L.out, m.n, Activation::None);
      ref.swap(next);
      scale.swap(next_scale);
      ref_layers.push_back(ref);
      scale_layers.push_back(scale);
      for (double& x : scale_layers.back()) x += 1e-30;
      offset = boff + L.out;
    }
    for (double& x : scale) x += 1e-30;

    const size_t plane = size_t(m.width) * m.n;
    DeviceVec gP(cast<float>(params)), gX(cast<float>(X)), gY(std::vector<float>(ref.size(), -99.f)),
        gY2(std::vector<float>(ref.size(), -99.f)), gH(std::vector<float>(size_t(m.hidden) * plane, -99.f));
    jnerf::mlp_fused_forward_cuda(gP.get(), gX.get(), gY.get(), m.in, m.width, m.hidden, m.out, m.n, m.act);
    // The training variant also writes the hidden activations; Y is the same.
    jnerf::mlp_fused_forward_cuda(gP.get(), gX.get(), gY2.get(), m.in, m.width, m.hidden, m.out, m.n, m.act,
                                  nullptr, gH.get());
    // Chained hand-written layers.
    std::vector<std::unique_ptr<DeviceVec>> acts;
    const float* cur = gX.get();
    offset = 0;
    for (size_t l = 0; l < layers.size(); ++l) {
      const Shape& L = layers[l];
      const Activation act = l + 1 == layers.size() ? m.act : Activation::ReLU;
      acts.push_back(std::make_unique<DeviceVec>(std::vector<float>(size_t(L.out) * m.n)));
      const size_t boff = offset + size_t(L.out) * L.in;
      jnerf::linear_forward_cuda(gP.get() + offset, gP.get() + boff, cur, acts.back()->get(), L.in, L.out, m.n, act);
      cur = acts.back()->get();
      offset = boff + L.out;
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const auto fused = gY.host(), chained = acts.back()->host();
    EXPECT_TRUE(close_scaled(fused, ref, scale, kGpuTol, "fused vs CPU"));
    EXPECT_TRUE(close_scaled(chained, ref, scale, kGpuTol, "chained vs CPU"));
    EXPECT_TRUE(close_scaled(fused, chained, scale, 2 * kGpuTol, "fused vs chained"));
    EXPECT_EQ(gY2.host(), fused);  // same arithmetic with and without the hidden output
    const auto hidden = gH.host();
    for (int l = 0; l < m.hidden; ++l) {
      SCOPED_TRACE("hidden layer " + std::to_string(l));
      const std::vector<float> h(hidden.begin() + l * plane, hidden.begin() + (l + 1) * plane);
      EXPECT_TRUE(close_scaled(h, ref_layers[l], scale_layers[l], kGpuTol, "fused hidden vs CPU"));
      EXPECT_TRUE(close_scaled(h, acts[l]->host(), scale_layers[l], 2 * kGpuTol, "fused hidden vs chained"));
    }
  }
  EXPECT_FALSE(jnerf::mlp_fused_supported(32, 96, 2, 3));
  EXPECT_FALSE(jnerf::mlp_fused_supported(32, 64, 2, 65));
  EXPECT_THROW(jnerf::mlp_fused_forward_cuda(nullptr, nullptr, nullptr, 32, 96, 2, 3, 10, Activation::None),
               std::invalid_argument);
}

// Fully fused MLP backward vs the chained CPU layers (double) and the chained
// linear_backward_cuda layers, all from the same float hidden activations and output (the
// CPU forward's, rounded), so that every path sees the same ReLU masks.
TEST(CudaConformanceFusedMlp, BackwardMatchesChainedLayers) {
  JN_REQUIRE_CUDA();
  struct MlpCase {
    int in, width, hidden, out, n;
    Activation act;
    int offset;  // misalign every device buffer by this many floats (scalar paths)
  };
  const MlpCase cases[] = {
      {32, 64, 1, 1, 1000, Activation::None, 0},   {32, 64, 2, 16, 4099, Activation::ReLU, 0},
      {32, 64, 3, 4, 7, Activation::None, 0},      {32, 128, 3, 3, 777, Activation::None, 0},
      {32, 128, 2, 16, 1024, Activation::ReLU, 1}, {63, 128, 1, 128, 130, Activation::ReLU, 0},
      {200, 64, 2, 3, 300, Activation::ReLU, 0},   {150, 128, 1, 5, 257, Activation::None, 0},
      {1, 64, 1, 64, 129, Activation::ReLU, 0},
  };
  std::mt19937 rng(82);
  for (const MlpCase& m : cases) {
    SCOPED_TRACE("in " + std::to_string(m.in) + " width " + std::to_string(m.width) + " hidden " +
                 std::to_string(m.hidden) + " out " + std::to_string(m.out) + " n " + std::to_string(m.n) +
                 " offset " + std::to_string(m.offset));
    ASSERT_TRUE(jnerf::mlp_fused_supported(m.in, m.width, m.hidden, m.out));
    std::vector<Shape> layers{{m.in, m.width, m.n}};
    for (int l = 1; l < m.hidden; ++l) layers.push_back({m.width, m.width, m.n});
    layers.push_back({m.width, m.out, m.n});
    const size_t L = layers.size();
    Vec params;
    std::vector<size_t> w_off, b_off;
    for (const Shape& S : layers) {
      const double bound = 1.0 / std::sqrt(double(S.in));
      const Vec Wl = rounded_random(size_t(S.out) * S.in, rng, -bound, bound), bl = rounded_random(S.out, rng, -bound, bound);
      w_off.push_back(params.size());
      params.insert(params.end(), Wl.begin(), Wl.end());
      b_off.push_back(params.size());
      params.insert(params.end(), bl.begin(), bl.end());
    }
    ASSERT_EQ(static_cast<long long>(params.size()), jnerf::mlp_param_count(m.in, m.width, m.hidden, m.out));
    const Vec X = rounded_random(size_t(m.in) * m.n, rng, -1, 1), dY = rounded_random(size_t(m.out) * m.n, rng, -1, 1),
              dP0 = rounded_random(params.size(), rng, -1, 1);
    const Vec aparams = abs_vec(params), aX = abs_vec(X);
    auto layer_act = [&](size_t l) { return l + 1 == L ? m.act : Activation::ReLU; };

    // CPU forward in double, each layer's output rounded to float (the GPU backward gets
    // exactly these), and the chain over absolute values (the forward's error scale).
    std::vector<Vec> A(L), sA(L);
    for (size_t l = 0; l < L; ++l) {
      const Shape& S = layers[l];
      const Vec& prev = l == 0 ? X : A[l - 1];
      const Vec& sprev = l == 0 ? aX : sA[l - 1];
      A[l].resize(size_t(S.out) * m.n);
      sA[l].resize(A[l].size());
      jnerf::linear_forward_cpu<double>(params.data() + w_off[l], params.data() + b_off[l], prev.data(), A[l].data(),
                                        S.in, S.out, m.n, layer_act(l));
      jnerf::linear_forward_cpu<double>(aparams.data() + w_off[l], aparams.data() + b_off[l], sprev.data(),
                                        sA[l].data(), S.in, S.out, m.n, Activation::None);
      for (double& x : A[l]) x = double(float(x));
    }
    for (Vec& v : sA)
      for (double& x : v) x += 1e-30;

    // CPU backward chain in double from those activations, accumulating into dP0; the
    // same chain over absolute values (and |dP0|) is the error scale.
    Vec rP = dP0, sP = abs_vec(dP0);
    std::vector<Vec> rdZ(L), sdZ(L);
    Vec g = dY, sg = abs_vec(dY);
    for (size_t l = L; l-- > 0;) {
      const Shape& S = layers[l];
      const Vec& Ain = l == 0 ? X : A[l - 1];
      const Vec aAin = abs_vec(Ain);
      Vec dA(size_t(S.in) * m.n), sdA(dA.size());
      rdZ[l].resize(size_t(S.out) * m.n);
      sdZ[l].resize(rdZ[l].size());
      jnerf::linear_backward_cpu<double>(params.data() + w_off[l], Ain.data(), A[l].data(), g.data(),
                                         rP.data() + w_off[l], rP.data() + b_off[l], dA.data(), S.in, S.out, m.n,
                                         layer_act(l), rdZ[l].data(), false);
      jnerf::linear_backward_cpu<double>(aparams.data() + w_off[l], aAin.data(), A[l].data(), sg.data(),
                                         sP.data() + w_off[l], sP.data() + b_off[l], sdA.data(), S.in, S.out, m.n,
                                         layer_act(l), sdZ[l].data(), false);
      if (layer_act(l) == Activation::None) {  // dZ == dY, scratch not written
        rdZ[l] = g;
        sdZ[l] = sg;
      }
      g.swap(dA);
      sg.swap(sdA);
    }
    const Vec& rX = g;
    Vec& sX = sg;
    for (double& x : sX) x += 1e-30;
    for (double& x : sP) x += 1e-30;
    for (Vec& v : sdZ)
      for (double& x : v) x += 1e-30;

    // Device inputs: hidden = A[0..L-2] back to back, Y = A[L-1].
    const size_t plane = size_t(m.width) * m.n;
    Vec H;
    for (size_t l = 0; l + 1 < L; ++l) H.insert(H.end(), A[l].begin(), A[l].end());
    const int o = m.offset;
    DeviceVec gP(cast<float>(params), o), gX(cast<float>(X), o), gH(cast<float>(H), o), gY(cast<float>(A[L - 1]), o),
        gdY(cast<float>(dY), o);

    // The fused forward's hidden output and Y against the CPU chain.
    {
      DeviceVec fH(std::vector<float>(H.size(), -99.f), o), fY(std::vector<float>(A[L - 1].size(), -99.f), o);
      jnerf::mlp_fused_forward_cuda(gP.get(), gX.get(), fY.get(), m.in, m.width, m.hidden, m.out, m.n, m.act, nullptr,
                                    fH.get());
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      const auto h = fH.host();
      for (size_t l = 0; l + 1 < L; ++l) {
        SCOPED_TRACE("hidden layer " + std::to_string(l));
        const std::vector<float> hl(h.begin() + l * plane, h.begin() + (l + 1) * plane);
        EXPECT_TRUE(close_scaled(hl, A[l], sA[l], kGpuTol, "fused forward hidden vs CPU"));
      }
      EXPECT_TRUE(close_scaled(fY.host(), A[L - 1], sA[L - 1], kGpuTol, "fused forward Y vs CPU"));
    }

    // Fused backward, starting from the non-zero dP0 (accumulation).
    DeviceVec gdP(cast<float>(dP0), o), gdX(std::vector<float>(X.size(), -99.f), o),
        gdZ(std::vector<float>(size_t(L) * plane, 0.f), o);
    jnerf::mlp_fused_backward_cuda(gP.get(), gX.get(), gH.get(), gY.get(), gdY.get(), gdP.get(), gdX.get(),
                                   gdZ.get(), m.in, m.width, m.hidden, m.out, m.n, m.act);
    // Without dX (weight gradients only), into a second copy.
    DeviceVec gdP_nodx(cast<float>(dP0), o), gdZ2(std::vector<float>(size_t(L) * plane, 0.f), o);
    jnerf::mlp_fused_backward_cuda(gP.get(), gX.get(), gH.get(), gY.get(), gdY.get(), gdP_nodx.get(), nullptr,
                                   gdZ2.get(), m.in, m.width, m.hidden, m.out, m.n, m.act);

    // Chained hand-written layers from the same device activations.
    DeviceVec cdP(cast<float>(dP0), o), cdX(std::vector<float>(X.size(), -99.f), o);
    std::vector<std::unique_ptr<DeviceVec>> bufs;
    const float* grad = gdY.get();
    for (size_t l = L; l-- > 0;) {
      const Shape& S = layers[l];
      const float* Ain = l == 0 ? gX.get() : gH.get() + (l - 1) * plane;
      const float* Aout = l + 1 == L ? gY.get() : gH.get() + l * plane;
      bufs.push_back(std::make_unique<DeviceVec>(std::vector<float>(size_t(S.out) * m.n), o));
      float* scratch = bufs.back()->get();
      float* dA = cdX.get();
      if (l > 0) {
        bufs.push_back(std::make_unique<DeviceVec>(std::vector<float>(size_t(S.in) * m.n), o));
        dA = bufs.back()->get();
      }
      jnerf::linear_backward_cuda(gP.get() + w_off[l], Ain, Aout, grad, cdP.get() + w_off[l], cdP.get() + b_off[l], dA,
                                  S.in, S.out, m.n, layer_act(l), scratch, false);
      grad = dA;
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);

    const auto fP = gdP.host(), fX = gdX.host(), fZ = gdZ.host(), cP = cdP.host(), cX = cdX.host();
    EXPECT_TRUE(close_scaled(fP, rP, sP, kGpuTol, "d_params fused vs CPU"));
    EXPECT_TRUE(close_scaled(cP, rP, sP, kGpuTol, "d_params chained vs CPU"));
    EXPECT_TRUE(close_scaled(fP, cP, sP, 2 * kGpuTol, "d_params fused vs chained"));
    EXPECT_TRUE(close_scaled(gdP_nodx.host(), rP, sP, kGpuTol, "d_params (no dX) fused vs CPU"));
    EXPECT_TRUE(close_scaled(fX, rX, sX, kGpuTol, "dX fused vs CPU"));
    EXPECT_TRUE(close_scaled(cX, rX, sX, kGpuTol, "dX chained vs CPU"));
    EXPECT_TRUE(close_scaled(fX, cX, sX, 2 * kGpuTol, "dX fused vs chained"));
    for (size_t l = 0; l < L; ++l) {
      SCOPED_TRACE("dZ layer " + std::to_string(l));
      const std::vector<float> z(fZ.begin() + l * plane, fZ.begin() + l * plane + rdZ[l].size());
      EXPECT_TRUE(close_scaled(z, rdZ[l], sdZ[l], kGpuTol, "dZ fused vs CPU"));
    }
    EXPECT_EQ(gdZ2.host(), fZ);  // the dZ chain does not depend on dX being asked for
    EXPECT_GT(max_abs(rX), 1e-3);  // the comparisons are not vacuous
  }
  EXPECT_THROW(jnerf::mlp_fused_backward_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                              32, 96, 2, 3, 10, Activation::None),
               std::invalid_argument);
  EXPECT_THROW(jnerf::mlp_fused_backward_cuda(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                              32, 64, 2, 3, 10, Activation::None),
               std::invalid_argument);  // missing buffers
}
#else
TEST(CudaConformanceLinear, Skipped) { GTEST_SKIP() << "built without the CUDA backend"; }
#endif
