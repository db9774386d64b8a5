// jnerf::generate_scene: validates the options, builds the preset's room, renders every frame
// of the camera path and writes the Replica layout.
#include "jnerf/data/synth.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>

#include <spdlog/spdlog.h>

#include "camera_path.hpp"
#include "jnerf/core/error.hpp"
#include "presets.hpp"
#include "preview.hpp"
#include "renderer.hpp"
#include "writer.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace jnerf {

namespace {

constexpr double kDepthScale = 1000.0, kNear = 0.1, kFar = 10.0;

std::string valid_names() {
  std::string s;
  for (const auto& p : synth::preset_table()) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

const synth::PresetInfo& require_preset(const std::string& name) {
  const synth::PresetInfo* p = synth::find_preset(name);
  if (!p) throw InputError("unknown synth preset '" + name + "'; valid presets: " + valid_names());
  return *p;
}

int pick(int value, int fallback, int lo, int hi, const char* what) {
  if (value == 0) return fallback;
  if (value < lo || value > hi)
    throw InputError(std::string("synth: ") + what + " " + std::to_string(value) + " is out of range [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return value;
}

}  // namespace

std::vector<std::string> synth_preset_names() {
  std::vector<std::string> names;
  for (const auto& p : synth::preset_table()) names.push_back(p.name);
  return names;
}

std::string synth_preset_description(const std::string& preset) {
  const synth::PresetInfo& p = require_preset(preset);
  return p.name + "  " + std::to_string(p.width) + "x" + std::to_string(p.height) + ", " +
         std::to_string(p.frames) + " frames: " + p.summary;
}

SynthSummary generate_scene(const SynthOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  const synth::PresetInfo& preset = require_preset(o.preset);
  const int width = pick(o.width, preset.width, kSynthMinSize, kSynthMaxSize, "width");
  const int height = pick(o.height, preset.height, kSynthMinSize, kSynthMaxSize, "height");
  const int frames = pick(o.frames, preset.frames, 1, kSynthMaxFrames, "frames");
  if (o.threads < 0) throw InputError("synth: threads " + std::to_string(o.threads) + " must be >= 0");
  if (o.out.empty()) throw InputError("synth: no output folder given (--out)");

  const synth::Scene scene = synth::build_room(preset.room, o.seed);
  if (scene.class_names.size() > 256 || scene.num_instances > 65535)
    throw std::logic_error("synth: too many classes or instances for the label maps");
  const std::vector<synth::Pose> poses = synth::camera_path(scene.camera, frames, o.seed);

  synth::RenderSettings rs;
  rs.width = width;
  rs.height = height;
  // hfov 90 degrees, like the Replica renders of Semantic-NeRF.
  rs.fx = rs.fy = 0.5f * static_cast<float>(width);
  rs.cx = 0.5f * static_cast<float>(width - 1);
  rs.cy = 0.5f * static_cast<float>(height - 1);
  rs.depth_scale = static_cast<float>(kDepthScale);
  rs.near = static_cast<float>(kNear);
  rs.far = static_cast<float>(kFar);
  rs.seed = o.seed;

  int threads = o.threads;
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#else
  threads = 1;
#endif

  synth::prepare_output(o.out, frames);
  spdlog::info("synth: {} ({} classes, {} instances), {} frames of {}x{}, seed {}, {} thread(s) -> {}",
               preset.name, scene.class_names.size() - 1, scene.num_instances, frames, width, height, o.seed,
               threads, o.out.string());

  // Frames in parallel when there are enough of them (each frame rendered serially), rows
  // in parallel otherwise. Either way every pixel is a pure function of its frame and index.
  const bool by_frame = frames >= 2 * threads && threads > 1;
  const std::vector<int> preview_ids = o.preview ? synth::preview_frames(frames) : std::vector<int>{};
  std::map<int, synth::FrameImages> kept;
  std::mutex mutex;
  std::exception_ptr error;
  std::atomic<int> done{0};
  std::atomic<bool> failed{false};

  auto do_frame = [&](int i, int row_threads) {
    synth::RenderSettings fs = rs;
    fs.threads = row_threads;
    synth::FrameImages img = synth::render_frame(scene, fs, poses[static_cast<std::size_t>(i)], i);
    synth::write_frame(o.out, i, img);
    const int d = ++done;
    if (d * 10 / frames != (d - 1) * 10 / frames || d == frames)
      spdlog::info("synth: {}/{} frames ({}%)", d, frames, d * 100 / frames);
    for (int id : preview_ids)
      if (id == i) {
        std::lock_guard<std::mutex> lock(mutex);
        kept.emplace(i, std::move(img));
        break;
      }
  };

#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (by_frame)
  for (int i = 0; i < frames; ++i) {
    if (failed.load()) continue;
    try {
      do_frame(i, by_frame ? 1 : threads);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  }
  if (error) std::rethrow_exception(error);

  synth::write_trajectory(o.out, poses);
  synth::SceneMetadata meta;
  meta.preset = preset.name;
  meta.seed = o.seed;
  meta.frames = frames;
  meta.settings = rs;
  meta.depth_scale = kDepthScale;
  meta.near = kNear;
  meta.far = kFar;
  synth::write_metadata(o.out, scene, meta);

  SynthSummary s;
  if (o.preview) {
    std::vector<const synth::FrameImages*> sheet;
    for (int id : preview_ids) sheet.push_back(&kept.at(id));
    s.preview = o.out / "preview.png";
    synth::write_preview(s.preview, sheet);
  }

  s.width = width;
  s.height = height;
  s.frames = frames;
  s.class_names = scene.class_names;
  s.num_classes = static_cast<int>(scene.class_names.size());
  s.num_instances = scene.num_instances;
  s.preset = preset.name;
  s.seed = o.seed;
  s.fx = rs.fx;
  s.fy = rs.fy;
  s.cx = rs.cx;
  s.cy = rs.cy;
  for (const auto& obj : scene.objects)
    if (obj.instance_id > 0) s.instances.push_back({obj.instance_id, obj.class_id, obj.name});
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  spdlog::info("synth: wrote {} frames to {} in {:.1f} s", frames, o.out.string(), s.seconds);
  return s;
}

}  // namespace jnerf
