#include "jnerf/io/image_io.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "jnerf/core/error.hpp"

// stb is header-only; this translation unit holds its implementation.
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#include <stb_image_write.h>

namespace jnerf {
namespace {

struct StbFree {
  void operator()(void* p) const { stbi_image_free(p); }
};

void require_file(const std::filesystem::path& file) {
  if (!std::filesystem::exists(file)) throw InputError("image file not found: " + file.string());
}

[[noreturn]] void decode_failed(const std::filesystem::path& file) {
  const char* reason = stbi_failure_reason();
  throw InputError("cannot read image " + file.string() + ": " + (reason ? reason : "unknown error"));
}

void ensure_parent(const std::filesystem::path& file) {
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
}

}  // namespace

ImageU8 read_image_u8(const std::filesystem::path& file, int want_channels) {
  require_file(file);
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, StbFree> pixels(stbi_load(file.c_str(), &w, &h, &c, want_channels));
  if (!pixels) decode_failed(file);
  const int channels = want_channels > 0 ? want_channels : c;
  ImageU8 image(w, h, channels);
  std::copy_n(pixels.get(), image.data.size(), image.data.begin());
  return image;
}

ImageU16 read_image_u16(const std::filesystem::path& file) {
  require_file(file);
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_us, StbFree> pixels(stbi_load_16(file.c_str(), &w, &h, &c, 1));
  if (!pixels) decode_failed(file);
  ImageU16 image(w, h, 1);
  if (stbi_is_16_bit(file.c_str())) {
    std::copy_n(pixels.get(), image.data.size(), image.data.begin());
  } else {
    // stb widens 8-bit samples by *257; label and depth files keep their raw 8-bit values.
    for (std::size_t i = 0; i < image.data.size(); ++i) image.data[i] = pixels.get()[i] / 257;
  }
  return image;
}

ImageF read_image_float(const std::filesystem::path& file, int want_channels) {
  return to_float(read_image_u8(file, want_channels));
}

void write_png(const std::filesystem::path& file, const ImageU8& image) {
  ensure_parent(file);
  if (image.empty() || image.channels < 1 || image.channels > 4)
    throw InputError("cannot write " + file.string() + ": empty image or unsupported channel count");
  if (!stbi_write_png(file.c_str(), image.width, image.height, image.channels, image.data.data(),
                      image.width * image.channels))
    throw std::runtime_error("cannot write PNG " + file.string());
}

void write_png(const std::filesystem::path& file, const ImageF& image) { write_png(file, to_u8(image)); }

// stb_image_write has no 16-bit PNG output: write the stream by hand (stored zlib blocks
// would be huge, so use stb's zlib compressor on filtered scanlines).
void write_png16(const std::filesystem::path& file, const ImageU16& image) {
  ensure_parent(file);
  if (image.empty() || image.channels != 1)
    throw InputError("cannot write " + file.string() + ": 16-bit PNG needs a 1-channel image");
  const int w = image.width, h = image.height;
  std::vector<unsigned char> raw(static_cast<std::size_t>(h) * (1 + 2 * w));
  for (int y = 0; y < h; ++y) {
    unsigned char* row = raw.data() + static_cast<std::size_t>(y) * (1 + 2 * w);
    row[0] = 0;  // filter type: none
    for (int x = 0; x < w; ++x) {
      const std::uint16_t v = image.at(x, y);
      row[1 + 2 * x] = static_cast<unsigned char>(v >> 8);
      row[2 + 2 * x] = static_cast<unsigned char>(v & 0xff);
    }
  }
  int zlen = 0;
  std::unique_ptr<unsigned char, decltype(&free)> z(
      stbi_zlib_compress(raw.data(), static_cast<int>(raw.size()), &zlen, 6), &free);
  if (!z) throw std::runtime_error("cannot compress PNG " + file.string());

  std::vector<unsigned char> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  auto put32 = [](std::vector<unsigned char>& v, std::uint32_t x) {
    for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<unsigned char>(x >> s));
  };
  auto chunk = [&](const char* type, const unsigned char* data, std::size_t len) {
    put32(out, static_cast<std::uint32_t>(len));
    const std::size_t start = out.size();
    out.insert(out.end(), type, type + 4);
    out.insert(out.end(), data, data + len);
    put32(out, stbiw__crc32(out.data() + start, static_cast<int>(len + 4)));
  };
  std::vector<unsigned char> ihdr;
  put32(ihdr, static_cast<std::uint32_t>(w));
  put32(ihdr, static_cast<std::uint32_t>(h));
  ihdr.insert(ihdr.end(), {16, 0, 0, 0, 0});  // bit depth 16, greyscale, deflate, no filter, no interlace
  chunk("IHDR", ihdr.data(), ihdr.size());
  chunk("IDAT", z.get(), static_cast<std::size_t>(zlen));
  chunk("IEND", nullptr, 0);

  FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot open " + file.string() + " for writing");
  const bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write PNG " + file.string());
}

ImageU8 to_u8(const ImageF& image) {
  ImageU8 out(image.width, image.height, image.channels);
  for (std::size_t i = 0; i < image.data.size(); ++i) {
    const float v = std::clamp(image.data[i], 0.f, 1.f);
    out.data[i] = static_cast<std::uint8_t>(std::lround(v * 255.f));
  }
  return out;
}

ImageF to_float(const ImageU8& image) {
  ImageF out(image.width, image.height, image.channels);
  for (std::size_t i = 0; i < image.data.size(); ++i) out.data[i] = image.data[i] / 255.f;
  return out;
}

ImageF downscale_area(const ImageF& image, int factor) {
  if (factor < 1) throw InputError("downscale factor must be >= 1, got " + std::to_string(factor));
  if (factor == 1) return image;
  const int w = image.width / factor, h = image.height / factor, c = image.channels;
  ImageF out(w, h, c);
  const float norm = 1.f / static_cast<float>(factor * factor);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) {
        float sum = 0.f;
        for (int dy = 0; dy < factor; ++dy)
          for (int dx = 0; dx < factor; ++dx) sum += image.at(x * factor + dx, y * factor + dy, ch);
        out.at(x, y, ch) = sum * norm;
      }
  return out;
}

template <class T>
Image<T> downscale_nearest(const Image<T>& image, int factor) {
  if (factor < 1) throw InputError("downscale factor must be >= 1, got " + std::to_string(factor));
  if (factor == 1) return image;
  const int w = image.width / factor, h = image.height / factor, c = image.channels;
  Image<T> out(w, h, c);
  const int centre = factor / 2;  // the sample nearest the block centre
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int ch = 0; ch < c; ++ch) out.at(x, y, ch) = image.at(x * factor + centre, y * factor + centre, ch);
  return out;
}

template ImageF downscale_nearest(const ImageF&, int);
template ImageU8 downscale_nearest(const ImageU8&, int);
template ImageU16 downscale_nearest(const ImageU16&, int);

}  // namespace jnerf
