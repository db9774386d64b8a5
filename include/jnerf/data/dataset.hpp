#pragma once
// One in-memory dataset, whatever the source layout.
//
// Camera convention (all loaders convert to it; see kernels/camera.cuh):
//   c2w maps OpenCV camera coordinates (x right, y down, z forward) to the dataset's world
//   frame; intrinsics put the centre of pixel (i, j) at image coordinate (i, j).
// Images: rgb is float HxWx3 in [0, 1] as stored (sRGB, RGBA already composited over the
// background); alpha HxWx1 in [0, 1]; depth HxWx1 z-depth in metres (0 = unknown);
// semantic HxWx1 class ids (0 = void); instance HxWx1 instance ids. Optional images are
// empty when the source has none.
#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "jnerf/io/image.hpp"
#include "camera.cuh"  // kernels/: PinholeCamera

namespace jnerf {

struct Intrinsics {
  int width = 0, height = 0;
  double fx = 0, fy = 0, cx = 0, cy = 0;
  std::array<double, 4> distortion{0, 0, 0, 0};  // k1 k2 p1 p2 (OpenCV), zero if none

  // Intrinsics of the image downscaled by an integer factor (pixel-centre convention kept).
  Intrinsics downscaled(int factor) const;
};

struct Frame {
  std::string name;  // image path relative to the dataset root
  int id = 0;        // frame number in the source sequence
  Intrinsics intrinsics;
  Eigen::Matrix4d c2w = Eigen::Matrix4d::Identity();
  float near = 0.f, far = 0.f;  // ray range for this view
  ImageF rgb, alpha, depth;
  ImageU16 semantic, instance;

  PinholeCamera pinhole() const;  // for kernels/camera.cuh
};

struct Dataset {
  std::string format;              // replica | scannet | blender | ngp | llff
  std::filesystem::path root;
  std::vector<Frame> frames;
  std::vector<int> train, test;    // indices into frames
  std::vector<std::string> class_names;  // index = class id (0 = void); may be empty
  float near = 0.f, far = 0.f;     // default ray range
  bool has_scene_box = false;      // an axis-aligned box that holds the scene
  Eigen::Vector3d scene_min = Eigen::Vector3d::Zero(), scene_max = Eigen::Vector3d::Zero();
  std::vector<std::string> warnings;

  int num_classes() const;         // max class id + 1 over names and maps
};

struct LoadOptions {
  std::filesystem::path path;
  std::string format = "auto";     // auto | replica | scannet | blender | ngp | llff
  int downscale = 1;               // integer factor (area filter for colour)
  std::array<float, 3> background{1.f, 1.f, 1.f};  // for RGBA sources
  int train_step = 5;              // replica/scannet: train ids = 0, step, 2 step, ...
  int test_offset = 2;             // replica/scannet: test ids = train ids + offset
  int holdout_every = 8;           // llff/ngp: every N-th frame is a test view
  std::string test_split = "val";  // blender: which transforms_<split>.json is the test set
  std::vector<int> frame_ids;      // keep only these source frame ids (empty = all)
  int max_frames = 0;              // keep at most N train and N test views, evenly (0 = all)
  bool load_images = true;         // false: cameras only
};

// "auto" resolves by the files present; InputError when nothing matches.
std::string detect_format(const std::filesystem::path& path);
Dataset load_dataset(const LoadOptions& options);

// Format-specific loaders (called by load_dataset once the format is known).
Dataset load_replica(const LoadOptions& options);
Dataset load_scannet(const LoadOptions& options);
Dataset load_blender(const LoadOptions& options);
Dataset load_ngp(const LoadOptions& options);
Dataset load_llff(const LoadOptions& options);

}  // namespace jnerf
