#include "preview.hpp"

#include "jnerf/io/image_io.hpp"
#include "jnerf/io/palette.hpp"

namespace jnerf::synth {

std::vector<int> preview_frames(int frames, int count) {
  std::vector<int> ids;
  const int n = frames < count ? frames : count;
  for (int k = 0; k < n; ++k) {
    // k * frames / n: evenly over the loop (the last frame is next to the first).
    const int id = static_cast<int>((static_cast<long long>(k) * frames) / n);
    if (ids.empty() || ids.back() != id) ids.push_back(id);
  }
  return ids;
}

ImageU8 contact_sheet(const std::vector<const FrameImages*>& frames) {
  if (frames.empty()) return {};
  const int w = frames[0]->rgb.width, h = frames[0]->rgb.height, gap = 2;
  const int n = static_cast<int>(frames.size());
  ImageU8 sheet(n * w + (n - 1) * gap, 3 * h + 2 * gap, 3, 255);
  auto blit = [&](const ImageU8& img, int col, int row) {
    const int x0 = col * (w + gap), y0 = row * (h + gap);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) sheet.at(x0 + x, y0 + y, c) = img.at(x, y, c);
  };
  for (int i = 0; i < n; ++i) {
    const FrameImages& f = *frames[static_cast<std::size_t>(i)];
    ImageU16 classes(w, h, 1);
    for (std::size_t p = 0; p < classes.data.size(); ++p) classes.data[p] = f.semantic.data[p];
    blit(f.rgb, i, 0);
    blit(colourise_labels(classes), i, 1);
    blit(colourise_labels(f.instance), i, 2);
  }
  return sheet;
}

void write_preview(const std::filesystem::path& file, const std::vector<const FrameImages*>& frames) {
  write_png(file, contact_sheet(frames));
}

}  // namespace jnerf::synth
