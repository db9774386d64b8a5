// CPU linear layer throughput (float): forward and backward of the paper MLP's layer
// shapes, against a plain Eigen SGEMM of the forward's shape (the ceiling: the layer is
// one GEMM plus element-wise passes; the backward is two GEMMs of the same size).
// Counters: GFLOP/s with 2*in*out*n flops forward and 4*in*out*n backward.
#include <random>
#include <vector>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#include "jnerf/model/linear.hpp"

namespace {

std::vector<float> random_floats(size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

void set_rate(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_iter * 1e-9 * double(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_LinearForwardCpu(benchmark::State& state) {
  const int in = int(state.range(0)), out = int(state.range(1)), n = int(state.range(2));
  const auto W = random_floats(size_t(out) * in, 1), b = random_floats(out, 2), X = random_floats(size_t(in) * n, 3);
  std::vector<float> Y(size_t(out) * n);
  for (auto _ : state) {
    jnerf::linear_forward_cpu<float>(W.data(), b.data(), X.data(), Y.data(), in, out, n, jnerf::Activation::ReLU);
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 2.0 * in * out * n);
}

void BM_LinearBackwardCpu(benchmark::State& state) {
  const int in = int(state.range(0)), out = int(state.range(1)), n = int(state.range(2));
  const auto W = random_floats(size_t(out) * in, 1), X = random_floats(size_t(in) * n, 3),
             Y = random_floats(size_t(out) * n, 4), dY = random_floats(size_t(out) * n, 5);
  std::vector<float> dW(W.size()), db(out), dX(X.size()), scratch(Y.size());
  for (auto _ : state) {
    jnerf::linear_backward_cpu<float>(W.data(), X.data(), Y.data(), dY.data(), dW.data(), db.data(), dX.data(), in,
                                      out, n, jnerf::Activation::ReLU, scratch.data(), false);
    benchmark::DoNotOptimize(dX.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 4.0 * in * out * n);
}

// The ceiling: Eigen's SGEMM Y = W X on the same row-major maps, nothing else.
void BM_EigenSgemm(benchmark::State& state) {
  const int in = int(state.range(0)), out = int(state.range(1)), n = int(state.range(2));
  using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const auto W = random_floats(size_t(out) * in, 1), X = random_floats(size_t(in) * n, 3);
  std::vector<float> Y(size_t(out) * n);
  Eigen::Map<const MatR> Wm(W.data(), out, in), Xm(X.data(), in, n);
  Eigen::Map<MatR> Ym(Y.data(), out, n);
  for (auto _ : state) {
    Ym.noalias() = Wm * Xm;
    benchmark::DoNotOptimize(Y.data());
    benchmark::ClobberMemory();
  }
  set_rate(state, 2.0 * in * out * n);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"in", "out", "n"});
  for (int n : {4096, 16384}) {
    b->Args({256, 256, n});
    b->Args({63, 256, n});
    b->Args({128, 3, n});
  }
  b->UseRealTime()->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(BM_LinearForwardCpu)->Apply(shapes);
BENCHMARK(BM_LinearBackwardCpu)->Apply(shapes);
BENCHMARK(BM_EigenSgemm)->Apply(shapes);

BENCHMARK_MAIN();
