#include "writer.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "jnerf/core/error.hpp"
#include "jnerf/io/image_io.hpp"

namespace jnerf::synth {

namespace fs = std::filesystem;

namespace {

struct Layout {
  const char* folder;
  const char* prefix;
};
constexpr Layout kLayout[4] = {{"rgb", "rgb_"},
                               {"depth", "depth_"},
                               {"semantic_class", "semantic_class_"},
                               {"semantic_instance", "semantic_instance_"}};

fs::path frame_file(const fs::path& out, int k, int index) {
  return out / kLayout[k].folder / (std::string(kLayout[k].prefix) + std::to_string(index) + ".png");
}

}  // namespace

void prepare_output(const fs::path& out, int frames) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec))
    throw InputError("synth: output path " + out.string() + " exists and is not a folder");
  for (const Layout& l : kLayout) {
    const fs::path dir = out / l.folder;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir))
      throw InputError("synth: cannot create output folder " + dir.string() + (ec ? ": " + ec.message() : ""));
    // Stale frames of ours: exactly "<prefix><number>.png" with number >= frames.
    const std::regex ours(std::string(l.prefix) + "([0-9]+)\\.png");
    for (const auto& entry : fs::directory_iterator(dir)) {
      std::smatch m;
      const std::string name = entry.path().filename().string();
      if (entry.is_regular_file() && std::regex_match(name, m, ours) && m[1].length() < 10 &&
          std::stoll(m[1].str()) >= frames)
        fs::remove(entry.path(), ec);
    }
  }
}

void write_frame(const fs::path& out, int index, const FrameImages& images) {
  write_png(frame_file(out, 0, index), images.rgb);
  write_png16(frame_file(out, 1, index), images.depth);
  write_png(frame_file(out, 2, index), images.semantic);
  write_png16(frame_file(out, 3, index), images.instance);
}

void write_trajectory(const fs::path& out, const std::vector<Pose>& poses) {
  const fs::path file = out / "traj_w_c.txt";
  std::FILE* f = std::fopen(file.c_str(), "w");
  if (!f) throw std::runtime_error("cannot open " + file.string() + " for writing");
  bool ok = true;
  for (const Pose& p : poses) {
    // %.9g round-trips the float values that were rendered.
    for (int i = 0; i < 12; ++i) ok &= std::fprintf(f, "%.9g ", static_cast<double>(p[static_cast<std::size_t>(i)])) > 0;
    ok &= std::fprintf(f, "0 0 0 1\n") > 0;
  }
  if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + file.string());
}

void write_metadata(const fs::path& out, const Scene& scene, const SceneMetadata& meta) {
  nlohmann::ordered_json j;
  j["generator"] = "jnerf synth";
  j["preset"] = meta.preset;
  j["seed"] = meta.seed;
  j["width"] = meta.settings.width;
  j["height"] = meta.settings.height;
  // Half-integers: exact in float and double.
  j["intrinsics"] = {{"fx", static_cast<double>(meta.settings.fx)}, {"fy", static_cast<double>(meta.settings.fy)},
                     {"cx", static_cast<double>(meta.settings.cx)}, {"cy", static_cast<double>(meta.settings.cy)}};
  j["depth_scale"] = meta.depth_scale;
  j["near"] = meta.near;
  j["far"] = meta.far;
  j["class_names"] = scene.class_names;
  auto instances = nlohmann::ordered_json::array();
  for (const Object& o : scene.objects)
    if (o.instance_id > 0)
      instances.push_back({{"id", o.instance_id}, {"class", o.class_id}, {"name", o.name}});
  j["instances"] = instances;
  // Rounded to micrometres so that 2.7f is written as 2.7.
  auto round6 = [](float x) { return std::round(static_cast<double>(x) * 1e6) / 1e6; };
  auto vec = [&](V3 v) { return std::vector<double>{round6(v.x), round6(v.y), round6(v.z)}; };
  j["scene_min"] = vec(scene.room_min);
  j["scene_max"] = vec(scene.room_max);
  j["frames"] = meta.frames;
  const fs::path file = out / "jnerf_scene.json";
  std::ofstream f(file);
  f << j.dump(2) << "\n";
  if (!f) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace jnerf::synth
