#pragma once
// Renders one frame of a Scene: RGB (2x2 ordered-grid supersampling, Lambert + ambient,
// soft shadows from area lights), and from the pixel-centre ray the z-depth and the
// class / instance labels.
#include <cstdint>

#include "camera.cuh"  // kernels/: PinholeCamera, camera_ray
#include "camera_path.hpp"
#include "jnerf/io/image.hpp"
#include "scene.hpp"

namespace jnerf::synth {

struct FrameImages {
  ImageU8 rgb;        // W x H x 3
  ImageU16 depth;     // z-depth in millimetres, 0 = no surface
  ImageU8 semantic;   // class ids, 0 = void
  ImageU16 instance;  // instance ids, 0 = void
};

struct RenderSettings {
  int width = 0, height = 0;
  float fx = 0, fy = 0, cx = 0, cy = 0;
  float depth_scale = 1000.f;  // stored value = round(depth_scale * z)
  float near = 0.1f, far = 10.f;  // depth / labels only for surfaces in this range
  std::uint64_t seed = 0;
  int threads = 0;  // OpenMP threads for the rows of this frame (0 = default, 1 = serial)
};

PinholeCamera make_camera(const RenderSettings& s, const Pose& pose);

// Every pixel is a pure function of (scene, settings, pose, frame): the result does not
// depend on the number of threads.
FrameImages render_frame(const Scene& scene, const RenderSettings& settings, const Pose& pose, int frame);

}  // namespace jnerf::synth
