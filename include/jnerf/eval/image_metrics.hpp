#pragma once
// Image quality metrics for rendered views, images in [0, 1].
#include "jnerf/io/image.hpp"

namespace jnerf {

// Mean squared error over all pixels and channels. Images must match in size.
double mse(const ImageF& a, const ImageF& b);
// PSNR in dB for a peak of 1: -10 log10(mse); +inf for identical images.
double psnr(const ImageF& a, const ImageF& b);
// SSIM (Wang et al. 2004) as NeRF papers compute it: 11x11 Gaussian window, sigma 1.5,
// K1 = 0.01, K2 = 0.03, 'valid' filtering (no padding), mean over pixels and channels.
double ssim(const ImageF& a, const ImageF& b);

}  // namespace jnerf
