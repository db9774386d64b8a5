#pragma once
// Private helpers shared by the dataset loaders (src/data/*.cpp). Not installed.
#include <array>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "jnerf/data/dataset.hpp"

namespace jnerf::loader {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// A view before its pixels are read: camera, split membership and how to read the images.
// `load` fills frame.rgb / alpha / depth / semantic / instance at the final resolution
// (frame.intrinsics is already downscaled) and may append warnings. It runs in parallel
// with other frames, so it must touch nothing but its own frame and warning list.
struct PendingFrame {
  Frame frame;
  bool train = false, test = false;
  std::function<void(Frame&, std::vector<std::string>&)> load;
};

// Records a warning in the dataset and logs it.
void warn(Dataset& ds, const std::string& message);

// Keeps the frames named by options.frame_ids, thins the train and test lists to
// options.max_frames each (evenly spaced), reads the images (OpenMP) unless
// options.load_images is false, and fills ds.frames / ds.train / ds.test in input order.
// Throws InputError when nothing is left.
void finish(Dataset& ds, std::vector<PendingFrame> pending, const LoadOptions& options);

// The first id of `ids` that options.frame_ids keeps (ids.front() when none or no filter).
int first_wanted(const std::vector<int>& ids, const LoadOptions& options);

// At most n of the positions 0..count-1, evenly spaced (all when n <= 0 or n >= count).
std::vector<int> evenly_spaced(int count, int n);

// Throws InputError unless `dir` is an existing folder.
void require_dir(const fs::path& dir, const std::string& what);
void require_downscale(int factor);
// Replica / ScanNet split options: train_step >= 1, test_offset >= 0.
void require_step_split(const LoadOptions& options);

std::string read_text(const fs::path& file);
Json read_json(const fs::path& file);
// A number from a JSON object (InputError naming the file and key when absent or not a number).
double json_number(const Json& object, const std::string& key, const fs::path& file);
// A 3x4 or 4x4 matrix of numbers (InputError naming file and key otherwise).
Eigen::Matrix4d json_matrix(const Json& value, const fs::path& file, const std::string& key);

// Width and height from a PNG or JPEG header without decoding (InputError when unreadable).
std::pair<int, int> image_size(const fs::path& file);

// OpenGL / Blender camera (x right, y up, z back) to OpenCV (x right, y down, z forward).
Eigen::Matrix4d opengl_to_opencv(const Eigen::Matrix4d& c2w_gl);

// Intrinsics after resampling an image to new_w x new_h (pixel-centre convention kept).
Intrinsics rescaled(const Intrinsics& k, int new_w, int new_h);

// Area-weighted resampling to any size (each output pixel averages the input area it covers).
ImageF resize_area(const ImageF& image, int width, int height);

// "a/b.png" relative to root, with forward slashes.
std::string relative_name(const fs::path& file, const fs::path& root);

// uint16 depth (scale units per metre) -> float metres, 0 kept as unknown.
ImageF depth_to_metres(const ImageU16& raw, double scale);

// Throws InputError naming `file` when the image is not w x h.
void require_size(const fs::path& file, int got_w, int got_h, int want_w, int want_h,
                  const std::string& declared_by);

bool has_image_extension(const fs::path& file);

// Colour image as float RGB in [0, 1]; grey is expanded, an alpha channel (2 or 4 channels)
// is composited over `background` (rgb = a c + (1 - a) bg) and returned in *alpha
// (left empty when the file has none).
ImageF read_colour(const fs::path& file, const std::array<float, 3>& background, ImageF* alpha);

// Parses whitespace- or comma-separated numbers (inf / nan accepted). Returns false and sets
// *bad to the offending token when a token is not a number.
bool parse_numbers(const std::string& text, std::vector<double>* out, std::string* bad);

}  // namespace jnerf::loader
