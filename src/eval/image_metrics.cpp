#include "jnerf/eval/image_metrics.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

void require_same_size(const ImageF& a, const ImageF& b) {
  if (a.width != b.width || a.height != b.height || a.channels != b.channels)
    throw InputError("image sizes differ: " + std::to_string(a.width) + "x" + std::to_string(a.height) + "x" +
                     std::to_string(a.channels) + " vs " + std::to_string(b.width) + "x" +
                     std::to_string(b.height) + "x" + std::to_string(b.channels));
}

// Separable 'valid' Gaussian filter of one channel (w x h doubles) -> (w-10) x (h-10).
std::vector<double> blur_valid(const std::vector<double>& img, int w, int h, const double* g, int k) {
  const int ow = w - k + 1, oh = h - k + 1;
  std::vector<double> tmp(static_cast<std::size_t>(ow) * h), out(static_cast<std::size_t>(ow) * oh);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < ow; ++x) {
      double s = 0;
      for (int i = 0; i < k; ++i) s += g[i] * img[static_cast<std::size_t>(y) * w + x + i];
      tmp[static_cast<std::size_t>(y) * ow + x] = s;
    }
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      double s = 0;
      for (int i = 0; i < k; ++i) s += g[i] * tmp[static_cast<std::size_t>(y + i) * ow + x];
      out[static_cast<std::size_t>(y) * ow + x] = s;
    }
  return out;
}

}  // namespace

double mse(const ImageF& a, const ImageF& b) {
  require_same_size(a, b);
  double sum = 0;
  for (std::size_t i = 0; i < a.data.size(); ++i) {
    const double d = double(a.data[i]) - double(b.data[i]);
    sum += d * d;
  }
  return a.data.empty() ? 0.0 : sum / static_cast<double>(a.data.size());
}

double psnr(const ImageF& a, const ImageF& b) {
  const double e = mse(a, b);
  return e > 0 ? -10.0 * std::log10(e) : std::numeric_limits<double>::infinity();
}

double ssim(const ImageF& a, const ImageF& b) {
  require_same_size(a, b);
  constexpr int k = 11;
  constexpr double sigma = 1.5, c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  if (a.width < k || a.height < k) throw InputError("SSIM needs images of at least 11x11 pixels");
  double g[k], gsum = 0;
  for (int i = 0; i < k; ++i) gsum += g[i] = std::exp(-0.5 * ((i - k / 2) * (i - k / 2)) / (sigma * sigma));
  for (double& v : g) v /= gsum;

  const int w = a.width, h = a.height;
  double total = 0;
  for (int c = 0; c < a.channels; ++c) {
    std::vector<double> x(a.pixels()), y(a.pixels()), xx(a.pixels()), yy(a.pixels()), xy(a.pixels());
    for (std::size_t p = 0; p < a.pixels(); ++p) {
      x[p] = a.data[p * a.channels + c];
      y[p] = b.data[p * b.channels + c];
      xx[p] = x[p] * x[p];
      yy[p] = y[p] * y[p];
      xy[p] = x[p] * y[p];
    }
    const auto mx = blur_valid(x, w, h, g, k), my = blur_valid(y, w, h, g, k);
    const auto sxx = blur_valid(xx, w, h, g, k), syy = blur_valid(yy, w, h, g, k), sxy = blur_valid(xy, w, h, g, k);
    double sum = 0;
    for (std::size_t p = 0; p < mx.size(); ++p) {
      const double vx = sxx[p] - mx[p] * mx[p], vy = syy[p] - my[p] * my[p], cov = sxy[p] - mx[p] * my[p];
      sum += ((2 * mx[p] * my[p] + c1) * (2 * cov + c2)) /
             ((mx[p] * mx[p] + my[p] * my[p] + c1) * (vx + vy + c2));
    }
    total += sum / static_cast<double>(mx.size());
  }
  return total / a.channels;
}

}  // namespace jnerf
