#pragma once
// Image files through stb: PNG/JPEG (8-bit) and 16-bit PNG in, PNG out.
// Every failure is an InputError naming the file.
#include <filesystem>

#include "jnerf/io/image.hpp"

namespace jnerf {

// 8-bit image as stored (channels as in the file unless `want_channels` > 0).
ImageU8 read_image_u8(const std::filesystem::path& file, int want_channels = 0);
// 16-bit single-channel PNG (depth, instance ids); 8-bit files are widened.
ImageU16 read_image_u16(const std::filesystem::path& file);
// 8-bit image converted to float in [0, 1].
ImageF read_image_float(const std::filesystem::path& file, int want_channels = 0);

void write_png(const std::filesystem::path& file, const ImageU8& image);
// 16-bit PNG with 1 channel (big-endian samples as the PNG format requires).
void write_png16(const std::filesystem::path& file, const ImageU16& image);
// Float image in [0, 1] (clamped, rounded) to an 8-bit PNG.
void write_png(const std::filesystem::path& file, const ImageF& image);

ImageU8 to_u8(const ImageF& image);
ImageF to_float(const ImageU8& image);

// Downscale by an integer factor: colour by area average; label maps and depth by the
// sample nearest each block's centre, so ids stay valid. A remainder is cropped.
ImageF downscale_area(const ImageF& image, int factor);
template <class T>
Image<T> downscale_nearest(const Image<T>& image, int factor);

}  // namespace jnerf
