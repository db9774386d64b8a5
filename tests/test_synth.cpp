// jnerf synth: the procedural scene generator. Everything is checked from the files it
// writes (label maps, depth, poses, metadata), at tiny sizes so the suite stays fast.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/data/synth.hpp"
#include "jnerf/io/image_io.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace jnerf;

namespace {

using jnerf::test::contains;
using jnerf::test::input_error;

// A folder shared by the tests of one suite (scratch_dir needs a running test); one per
// process, since ctest runs the tests of this file in parallel processes.
fs::path suite_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / "jnerf_tests" / ("Synth." + name + "." + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

nlohmann::json read_meta(const fs::path& dir) { return nlohmann::json::parse(read_bytes(dir / "jnerf_scene.json")); }

std::vector<Eigen::Matrix4d> read_traj(const fs::path& dir) {
  std::ifstream in(dir / "traj_w_c.txt");
  std::vector<Eigen::Matrix4d> poses;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream ss(line);
    Eigen::Matrix4d m;
    int n = 0;
    double v;
    while (ss >> v) {
      if (n < 16) m(n / 4, n % 4) = v;
      ++n;
    }
    EXPECT_EQ(n, 16) << "traj line: " << line;
    poses.push_back(m);
  }
  return poses;
}

fs::path frame_file(const fs::path& dir, const std::string& kind, int i) {
  const std::string folder = kind == "rgb" ? "rgb" : kind == "depth" ? "depth" : kind == "class" ? "semantic_class"
                                                                                                 : "semantic_instance";
  const std::string prefix = kind == "rgb" ? "rgb_" : kind == "depth" ? "depth_" : kind == "class" ? "semantic_class_"
                                                                                                   : "semantic_instance_";
  return dir / folder / (prefix + std::to_string(i) + ".png");
}

struct Frames {
  std::vector<ImageU8> rgb, cls;
  std::vector<ImageU16> depth, inst;
};

Frames read_frames(const fs::path& dir, int n) {
  Frames f;
  for (int i = 0; i < n; ++i) {
    f.rgb.push_back(read_image_u8(frame_file(dir, "rgb", i)));
    f.cls.push_back(read_image_u8(frame_file(dir, "class", i)));
    f.depth.push_back(read_image_u16(frame_file(dir, "depth", i)));
    f.inst.push_back(read_image_u16(frame_file(dir, "instance", i)));
  }
  return f;
}

SynthSummary run(const std::string& preset, const fs::path& out, int w, int h, int frames, std::uint64_t seed = 0,
                 int threads = 0, bool preview = false) {
  SynthOptions o;
  o.preset = preset;
  o.out = out;
  o.width = w;
  o.height = h;
  o.frames = frames;
  o.seed = seed;
  o.threads = threads;
  o.preview = preview;
  return generate_scene(o);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Options

TEST(SynthOptions, BadOptionsAreInputErrorsNamingTheValue) {
  const fs::path out = jnerf::test::scratch_dir("out");
  std::string msg = input_error([&] { run("castle", out, 0, 0, 1); });
  EXPECT_TRUE(contains(msg, "castle")) << msg;
  for (const auto& name : synth_preset_names()) EXPECT_TRUE(contains(msg, name)) << msg;

  msg = input_error([&] { run("room0", out, -5, 0, 1); });
  EXPECT_TRUE(contains(msg, "width") && contains(msg, "-5")) << msg;
  msg = input_error([&] { run("room0", out, 64, 100000, 1); });
  EXPECT_TRUE(contains(msg, "height") && contains(msg, "100000")) << msg;
  msg = input_error([&] { run("room0", out, 64, 48, -3); });
  EXPECT_TRUE(contains(msg, "frames") && contains(msg, "-3")) << msg;
  msg = input_error([&] { run("room0", out, 64, 48, 1000000); });
  EXPECT_TRUE(contains(msg, "frames") && contains(msg, "1000000")) << msg;
  msg = input_error([&] { run("room0", out, 4, 48, 1); });
  EXPECT_TRUE(contains(msg, "width") && contains(msg, "4")) << msg;
  msg = input_error([&] { run("room0", out, 64, 48, 1, 0, -2); });
  EXPECT_TRUE(contains(msg, "threads")) << msg;
  msg = input_error([&] { run("room0", "", 64, 48, 1); });
  EXPECT_FALSE(msg.empty());

  // An output path that is a file.
  std::ofstream(out / "a_file") << "x";
  msg = input_error([&] { run("room0", out / "a_file", 16, 12, 1); });
  EXPECT_TRUE(contains(msg, "a_file")) << msg;

  msg = input_error([] { synth_preset_description("castle"); });
  EXPECT_TRUE(contains(msg, "castle") && contains(msg, "room0")) << msg;
  // Nothing was written by the failed calls.
  EXPECT_FALSE(fs::exists(out / "rgb"));
}

TEST(SynthOptions, PresetTableAndDefaults) {
  const auto names = synth_preset_names();
  for (const char* want : {"room0", "room1", "room2", "room0_small"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
  EXPECT_TRUE(contains(synth_preset_description("room0"), "320x240"));
  EXPECT_TRUE(contains(synth_preset_description("room0_small"), "160x120"));
  EXPECT_TRUE(contains(synth_preset_description("room0_small"), "120 frames"));
  // Defaults apply when the overrides are 0: a 1-frame room0_small run is 160x120.
  const fs::path out = jnerf::test::scratch_dir("out");
  const SynthSummary s = run("room0_small", out, 0, 0, 1);
  EXPECT_EQ(s.width, 160);
  EXPECT_EQ(s.height, 120);
  EXPECT_EQ(s.frames, 1);
  EXPECT_DOUBLE_EQ(s.fx, 80.0);
  EXPECT_DOUBLE_EQ(s.cx, 79.5);
  EXPECT_DOUBLE_EQ(s.cy, 59.5);
  const ImageU8 rgb = read_image_u8(out / "rgb" / "rgb_0.png");
  EXPECT_EQ(rgb.width, 160);
  EXPECT_EQ(rgb.height, 120);
  EXPECT_EQ(rgb.channels, 3);
}

// ---------------------------------------------------------------------------------------
// Presets, checked from rendered label maps (64x48, 40 frames each)

class SynthPresets : public ::testing::Test {
 protected:
  static constexpr int kW = 64, kH = 48, kN = 40;
  struct Rendered {
    fs::path dir;
    SynthSummary summary;
    nlohmann::json meta;
    Frames frames;
  };
  static std::map<std::string, Rendered>* rooms_;

  static void SetUpTestSuite() {
    rooms_ = new std::map<std::string, Rendered>();
    const fs::path base = suite_dir("presets");
    for (const char* room : {"room0", "room1", "room2"}) {
      Rendered r;
      r.dir = base / room;
      r.summary = run(room, r.dir, kW, kH, kN, 3);
      r.meta = read_meta(r.dir);
      r.frames = read_frames(r.dir, kN);
      rooms_->emplace(room, std::move(r));
    }
  }
  static void TearDownTestSuite() {
    delete rooms_;
    rooms_ = nullptr;
  }
};
std::map<std::string, SynthPresets::Rendered>* SynthPresets::rooms_ = nullptr;

TEST_F(SynthPresets, MetadataSchema) {
  for (const auto& [room, r] : *rooms_) {
    SCOPED_TRACE(room);
    const auto& j = r.meta;
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> want = {"generator", "preset", "seed", "width", "height", "intrinsics",
                                     "depth_scale", "near", "far", "class_names", "instances",
                                     "scene_min", "scene_max", "frames"};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(keys, want);
    EXPECT_EQ(j["generator"], "jnerf synth");
    EXPECT_EQ(j["preset"], room);
    EXPECT_EQ(j["seed"], 3);
    EXPECT_EQ(j["width"], kW);
    EXPECT_EQ(j["height"], kH);
    EXPECT_EQ(j["frames"], kN);
    EXPECT_DOUBLE_EQ(j["intrinsics"]["fx"].get<double>(), 32.0);
    EXPECT_DOUBLE_EQ(j["intrinsics"]["fy"].get<double>(), 32.0);
    EXPECT_DOUBLE_EQ(j["intrinsics"]["cx"].get<double>(), 31.5);
    EXPECT_DOUBLE_EQ(j["intrinsics"]["cy"].get<double>(), 23.5);
    EXPECT_DOUBLE_EQ(j["depth_scale"].get<double>(), 1000.0);
    EXPECT_DOUBLE_EQ(j["near"].get<double>(), 0.1);
    EXPECT_DOUBLE_EQ(j["far"].get<double>(), 10.0);
    EXPECT_EQ(j["class_names"][0], "void");
    EXPECT_EQ(j["class_names"].get<std::vector<std::string>>(), r.summary.class_names);
    EXPECT_EQ(static_cast<int>(j["instances"].size()), r.summary.num_instances);
    for (int a = 0; a < 3; ++a) EXPECT_LT(j["scene_min"][a].get<double>(), j["scene_max"][a].get<double>());
    std::set<int> ids;
    for (const auto& inst : j["instances"]) {
      const int id = inst["id"], cls = inst["class"];
      EXPECT_GT(id, 0);
      EXPECT_GT(cls, 0);
      EXPECT_LT(cls, static_cast<int>(j["class_names"].size()));
      EXPECT_TRUE(ids.insert(id).second) << "duplicate instance id " << id;
      EXPECT_FALSE(inst["name"].get<std::string>().empty());
    }
    for (const char* shell : {"wall", "floor", "ceiling"}) {
      const auto names = j["class_names"].get<std::vector<std::string>>();
      EXPECT_NE(std::find(names.begin(), names.end(), shell), names.end()) << shell;
    }
  }
}

TEST_F(SynthPresets, ClassesAndInstancesFromLabelMaps) {
  for (const auto& [room, r] : *rooms_) {
    SCOPED_TRACE(room);
    std::map<int, int> instance_class;  // from the metadata
    for (const auto& inst : r.meta["instances"]) instance_class[inst["id"]] = inst["class"];
    const int num_classes = static_cast<int>(r.meta["class_names"].size());
    EXPECT_GE(num_classes - 1, 8);
    EXPECT_GE(static_cast<int>(instance_class.size()), 15);

    std::map<int, std::set<int>> frames_of_instance;
    std::map<int, std::set<int>> instances_of_class;  // seen in the maps
    long long void_pixels = 0, bad_pairs = 0;
    for (int f = 0; f < kN; ++f) {
      const ImageU8& cls = r.frames.cls[static_cast<std::size_t>(f)];
      const ImageU16& inst = r.frames.inst[static_cast<std::size_t>(f)];
      ASSERT_EQ(cls.channels, 1);
      ASSERT_EQ(cls.width, kW);
      ASSERT_EQ(inst.width, kW);
      for (std::size_t p = 0; p < cls.data.size(); ++p) {
        const int c = cls.data[p], i = inst.data[p];
        if (c == 0 || i == 0) {
          bad_pairs += (c != i);  // void class <=> void instance
          ++void_pixels;
          continue;
        }
        const auto it = instance_class.find(i);
        if (it == instance_class.end() || it->second != c) { ++bad_pairs; continue; }
        frames_of_instance[i].insert(f);
        instances_of_class[c].insert(i);
      }
    }
    EXPECT_EQ(bad_pairs, 0) << "class and instance maps disagree with the metadata";
    EXPECT_GT(void_pixels, 0) << "no unlabelled (void) pixels";
    // Every instance is seen, in at least 3 frames.
    for (const auto& [id, cls] : instance_class) {
      const auto it = frames_of_instance.find(id);
      const int seen = it == frames_of_instance.end() ? 0 : static_cast<int>(it->second.size());
      EXPECT_GE(seen, 3) << "instance " << id << " (class " << r.meta["class_names"][cls] << ") seen in " << seen
                         << " of " << kN << " frames";
    }
    EXPECT_GE(static_cast<int>(instances_of_class.size()), 8) << "classes present in the maps";
    int multi = 0;
    for (const auto& [c, ids] : instances_of_class) multi += ids.size() >= 2;
    EXPECT_GE(multi, 3) << "classes with several instances in the maps";
  }
}

// Colour alone must not separate classes: some pairs of different classes share a surface
// colour. Shading here is grey (white lights, gamma-encoded power law), so a surface's
// chromaticity r/(r+g+b), g/(r+g+b) does not depend on lighting: compare per-class
// chromaticity histograms.
TEST_F(SynthPresets, ClassesShareColours) {
  for (const auto& [room, r] : *rooms_) {
    SCOPED_TRACE(room);
    constexpr int kBins = 24;
    const int num_classes = static_cast<int>(r.meta["class_names"].size());
    std::vector<std::vector<double>> hist(static_cast<std::size_t>(num_classes), std::vector<double>(kBins * kBins, 0.0));
    for (int f = 0; f < kN; ++f) {
      const ImageU8& rgb = r.frames.rgb[static_cast<std::size_t>(f)];
      const ImageU8& cls = r.frames.cls[static_cast<std::size_t>(f)];
      for (int y = 1; y + 1 < kH; ++y)
        for (int x = 1; x + 1 < kW; ++x) {
          const int c = cls.at(x, y);
          // Interior pixels only (no anti-aliased edges), bright enough for a stable ratio.
          bool interior = c > 0;
          for (int dy = -1; dy <= 1 && interior; ++dy)
            for (int dx = -1; dx <= 1; ++dx) interior &= cls.at(x + dx, y + dy) == c;
          const double s = rgb.at(x, y, 0) + rgb.at(x, y, 1) + rgb.at(x, y, 2);
          if (!interior || s < 90) continue;
          const int u = std::min(kBins - 1, static_cast<int>(rgb.at(x, y, 0) / s * kBins * 1.5));
          const int v = std::min(kBins - 1, static_cast<int>(rgb.at(x, y, 1) / s * kBins * 1.5));
          hist[static_cast<std::size_t>(c)][static_cast<std::size_t>(u * kBins + v)] += 1;
        }
    }
    for (auto& h : hist) {
      double total = 0;
      for (double v : h) total += v;
      if (total > 0) for (double& v : h) v /= total;
    }
    int shared = 0, furniture_pairs = 0;
    std::string pairs;
    for (int a = 1; a < num_classes; ++a)
      for (int b = a + 1; b < num_classes; ++b) {
        double overlap = 0;
        for (int k = 0; k < kBins * kBins; ++k)
          overlap += std::min(hist[static_cast<std::size_t>(a)][static_cast<std::size_t>(k)],
                              hist[static_cast<std::size_t>(b)][static_cast<std::size_t>(k)]);
        if (overlap > 0.5) {
          ++shared;
          auto shell = [&](int c) {
            const std::string n = r.meta["class_names"][c];
            return n == "wall" || n == "floor" || n == "ceiling";
          };
          furniture_pairs += !shell(a) && !shell(b);
          pairs += r.meta["class_names"][a].get<std::string>() + "/" + r.meta["class_names"][b].get<std::string>() + " ";
        }
      }
    EXPECT_GE(shared, 3) << "class pairs with the same colours: " << pairs;
    EXPECT_GE(furniture_pairs, 2) << "class pairs with the same colours: " << pairs;
  }
}

TEST_F(SynthPresets, CameraStaysClearOfSurfaces) {
  for (const auto& [room, r] : *rooms_) {
    SCOPED_TRACE(room);
    int min_mm = 1 << 30;
    long long missing = 0;
    for (const auto& d : r.frames.depth)
      for (std::uint16_t v : d.data) {
        if (v == 0) ++missing;
        else min_mm = std::min(min_mm, static_cast<int>(v));
      }
    EXPECT_EQ(missing, 0) << "closed rooms: every pixel sees a surface";
    EXPECT_GT(min_mm, 250) << "a camera comes within " << min_mm << " mm of a surface";
    // Poses: proper rotations, inside the room, clear of the walls, small steps.
    const auto poses = read_traj(r.dir);
    ASSERT_EQ(static_cast<int>(poses.size()), kN);
    const Eigen::Vector3d lo(r.meta["scene_min"][0], r.meta["scene_min"][1], r.meta["scene_min"][2]);
    const Eigen::Vector3d hi(r.meta["scene_max"][0], r.meta["scene_max"][1], r.meta["scene_max"][2]);
    double zmin = 1e9, zmax = -1e9;
    for (int i = 0; i < kN; ++i) {
      const Eigen::Matrix4d& T = poses[static_cast<std::size_t>(i)];
      const Eigen::Matrix3d R = T.block<3, 3>(0, 0);
      EXPECT_LT((R.transpose() * R - Eigen::Matrix3d::Identity()).norm(), 1e-5);
      EXPECT_NEAR(R.determinant(), 1.0, 1e-5);
      EXPECT_EQ(T.row(3), Eigen::RowVector4d(0, 0, 0, 1));
      const Eigen::Vector3d t = T.block<3, 1>(0, 3);
      for (int a = 0; a < 2; ++a) {
        EXPECT_GT(t[a], lo[a] + 0.5);
        EXPECT_LT(t[a], hi[a] - 0.5);
      }
      zmin = std::min(zmin, t.z());
      zmax = std::max(zmax, t.z());
      // z-up world, OpenCV camera: the image's down axis (column 1) points downwards.
      EXPECT_LT(R(2, 1), -0.5);
      const Eigen::Vector3d next = poses[static_cast<std::size_t>((i + 1) % kN)].block<3, 1>(0, 3);
      EXPECT_LT((next - t).norm(), 0.6) << "jump between frames " << i << " and " << i + 1;
    }
    EXPECT_GT(zmax - zmin, 0.2) << "camera height should vary";
  }
}

TEST_F(SynthPresets, ReplicaLoaderReadsTheFiles) {
  const Rendered& r = rooms_->at("room1");
  LoadOptions lo;
  lo.path = r.dir;
  lo.format = "replica";
  lo.train_step = 1;
  lo.test_offset = 0;
  const Dataset ds = load_dataset(lo);
  EXPECT_EQ(ds.format, "replica");
  ASSERT_EQ(static_cast<int>(ds.frames.size()), kN);
  EXPECT_EQ(ds.class_names, r.summary.class_names);
  EXPECT_FLOAT_EQ(ds.near, 0.1f);
  EXPECT_FLOAT_EQ(ds.far, 10.f);
  const auto poses = read_traj(r.dir);
  for (const Frame& f : ds.frames) {
    EXPECT_EQ(f.intrinsics.width, kW);
    EXPECT_EQ(f.intrinsics.height, kH);
    EXPECT_DOUBLE_EQ(f.intrinsics.fx, 32.0);
    EXPECT_DOUBLE_EQ(f.intrinsics.fy, 32.0);
    EXPECT_DOUBLE_EQ(f.intrinsics.cx, 31.5);
    EXPECT_DOUBLE_EQ(f.intrinsics.cy, 23.5);
    EXPECT_LT((f.c2w - poses[static_cast<std::size_t>(f.id)]).norm(), 1e-9);
    ASSERT_EQ(f.depth.width, kW);
    ASSERT_EQ(f.semantic.width, kW);
    ASSERT_EQ(f.instance.width, kW);
    const auto& raw_depth = r.frames.depth[static_cast<std::size_t>(f.id)];
    for (std::size_t p = 0; p < raw_depth.data.size(); p += 97)
      EXPECT_NEAR(f.depth.data[p], raw_depth.data[p] / 1000.0, 1e-6);
    EXPECT_EQ(f.semantic.data[0], r.frames.cls[static_cast<std::size_t>(f.id)].data[0]);
  }
  // The default split: train 0, 5, ...; test = train + 2.
  LoadOptions def;
  def.path = r.dir;
  def.format = "auto";
  const Dataset split = load_dataset(def);
  EXPECT_EQ(split.format, "replica");
  EXPECT_EQ(split.train.size(), static_cast<std::size_t>(kN / 5));
  EXPECT_EQ(split.test.size(), static_cast<std::size_t>(kN / 5));
}

// ---------------------------------------------------------------------------------------
// Geometry: poses, intrinsics and depth agree with each other (room0, 128x96, 24 frames)

class SynthGeometry : public ::testing::Test {
 protected:
  static constexpr int kW = 128, kH = 96, kN = 24;
  static fs::path* dir_;
  static void SetUpTestSuite() {
    dir_ = new fs::path(suite_dir("geometry"));
    run("room0", *dir_, kW, kH, kN, 11);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
};
fs::path* SynthGeometry::dir_ = nullptr;

// Back-project pixels of frame a with their depth, project them into frame b; where b sees
// the same surface, b's depth there equals the point's depth in b.
TEST_F(SynthGeometry, MultiViewDepthConsistency) {
  const auto poses = read_traj(*dir_);
  ASSERT_EQ(static_cast<int>(poses.size()), kN);
  const nlohmann::json meta = read_meta(*dir_);
  const double fx = meta["intrinsics"]["fx"], fy = meta["intrinsics"]["fy"];
  const double cx = meta["intrinsics"]["cx"], cy = meta["intrinsics"]["cy"];
  std::vector<ImageU16> depth;
  for (int i = 0; i < kN; ++i) depth.push_back(read_image_u16(frame_file(*dir_, "depth", i)));

  long long agree = 0, farther = 0, nearer = 0;
  double worst_agree = 0;
  const std::array<std::pair<int, int>, 6> pairs = {{{0, 1}, {5, 6}, {10, 12}, {15, 17}, {20, 23}, {3, 7}}};
  for (const auto& [a, b] : pairs) {
    const Eigen::Matrix4d Ta = poses[static_cast<std::size_t>(a)], Tb = poses[static_cast<std::size_t>(b)];
    const Eigen::Matrix4d Tb_inv = Tb.inverse();
    for (int y = 0; y < kH; y += 2)
      for (int x = 0; x < kW; x += 2) {
        const double za = depth[static_cast<std::size_t>(a)].at(x, y) / 1000.0;
        if (za <= 0) continue;
        const Eigen::Vector4d pc((x - cx) / fx * za, (y - cy) / fy * za, za, 1.0);
        const Eigen::Vector4d pb = Tb_inv * (Ta * pc);
        if (pb.z() < 0.1) continue;
        const double u = fx * pb.x() / pb.z() + cx, v = fy * pb.y() / pb.z() + cy;
        const int u0 = static_cast<int>(std::floor(u)), v0 = static_cast<int>(std::floor(v));
        if (u0 < 0 || v0 < 0 || u0 + 1 >= kW || v0 + 1 >= kH) continue;
        // Bilinear in inverse depth (exact on planes), only on smooth neighbourhoods.
        double inv[4], dmin = 1e9, dmax = 0;
        for (int k = 0; k < 4; ++k) {
          const double d = depth[static_cast<std::size_t>(b)].at(u0 + (k & 1), v0 + (k >> 1)) / 1000.0;
          dmin = std::min(dmin, d);
          dmax = std::max(dmax, d);
          inv[k] = d > 0 ? 1.0 / d : 0.0;
        }
        if (dmin <= 0 || dmax - dmin > 0.05 * dmin) continue;
        const double fu = u - u0, fv = v - v0;
        const double zb = 1.0 / ((inv[0] * (1 - fu) + inv[1] * fu) * (1 - fv) + (inv[2] * (1 - fu) + inv[3] * fu) * fv);
        const double err = zb - pb.z();
        const double tol = 0.01 + 0.004 * pb.z();  // mm quantisation and interpolation
        if (std::fabs(err) < tol) {
          ++agree;
          worst_agree = std::max(worst_agree, std::fabs(err));
        } else if (err < 0) {
          ++nearer;  // occluded in b
        } else {
          ++farther;  // b sees past the point: inconsistent
        }
      }
  }
  const long long total = agree + nearer + farther;
  EXPECT_GT(agree, 2000) << "agree " << agree << " nearer " << nearer << " farther " << farther;
  EXPECT_GT(static_cast<double>(agree) / total, 0.85) << "agree " << agree << " nearer " << nearer << " farther " << farther;
  EXPECT_LT(static_cast<double>(farther) / total, 0.02) << "agree " << agree << " nearer " << nearer << " farther " << farther;
}

// Depth is z-depth in millimetres: pixels of the floor, ceiling and walls back-project onto
// the room's box (scene_min / scene_max) to within the millimetre quantisation. Euclidean
// ray length, or a wrong scale, puts them centimetres to metres off.
TEST_F(SynthGeometry, DepthIsZDepthInMillimetres) {
  const auto poses = read_traj(*dir_);
  const nlohmann::json meta = read_meta(*dir_);
  const double fx = meta["intrinsics"]["fx"], fy = meta["intrinsics"]["fy"];
  const double cx = meta["intrinsics"]["cx"], cy = meta["intrinsics"]["cy"];
  const auto names = meta["class_names"].get<std::vector<std::string>>();
  const int wall = static_cast<int>(std::find(names.begin(), names.end(), "wall") - names.begin());
  const int floor = static_cast<int>(std::find(names.begin(), names.end(), "floor") - names.begin());
  const int ceiling = static_cast<int>(std::find(names.begin(), names.end(), "ceiling") - names.begin());
  const Eigen::Vector3d lo(meta["scene_min"][0], meta["scene_min"][1], meta["scene_min"][2]);
  const Eigen::Vector3d hi(meta["scene_max"][0], meta["scene_max"][1], meta["scene_max"][2]);
  long long checked[3] = {0, 0, 0};
  double worst = 0;
  for (int i = 0; i < kN; i += 3) {
    const ImageU16 depth = read_image_u16(frame_file(*dir_, "depth", i));
    const ImageU8 cls = read_image_u8(frame_file(*dir_, "class", i));
    const Eigen::Matrix4d T = poses[static_cast<std::size_t>(i)];
    for (int y = 0; y < kH; ++y)
      for (int x = 0; x < kW; ++x) {
        const int c = cls.at(x, y);
        if (c != wall && c != floor && c != ceiling) continue;
        const double z = depth.at(x, y) / 1000.0;
        const Eigen::Vector3d dir = T.block<3, 3>(0, 0) * Eigen::Vector3d((x - cx) / fx, (y - cy) / fy, 1.0);
        const Eigen::Vector3d p = T.block<3, 1>(0, 3) + z * dir;
        double err;
        if (c == floor) err = std::fabs(p.z() - lo.z());
        else if (c == ceiling) err = std::fabs(p.z() - hi.z());
        else err = std::min({std::fabs(p.x() - lo.x()), std::fabs(p.x() - hi.x()), std::fabs(p.y() - lo.y()),
                             std::fabs(p.y() - hi.y())});
        // 0.5 mm of rounding along a direction of length |dir| <= sqrt(3).
        EXPECT_LT(err, 0.0005 * dir.norm() + 1e-4) << "frame " << i << " pixel " << x << "," << y;
        worst = std::max(worst, err);
        ++checked[c == floor ? 0 : c == ceiling ? 1 : 2];
        if (err > 0.01) return;  // one report is enough
      }
  }
  EXPECT_GT(checked[0], 100);
  EXPECT_GT(checked[1], 100);
  EXPECT_GT(checked[2], 1000);
}

// ---------------------------------------------------------------------------------------
// Determinism and output handling

TEST(SynthDeterminism, SameSeedSameBytesAnyThreadCount) {
  const fs::path a = jnerf::test::scratch_dir("a"), b = jnerf::test::scratch_dir("b"),
                 c = jnerf::test::scratch_dir("c");
  const int n = 6;
  run("room2", a, 48, 36, n, 7, 1);
  run("room2", b, 48, 36, n, 7, 2);
  const SynthSummary sc = run("room2", c, 48, 36, n, 8, 2);
  for (int i = 0; i < n; ++i)
    for (const char* kind : {"rgb", "depth", "class", "instance"})
      EXPECT_EQ(read_bytes(frame_file(a, kind, i)), read_bytes(frame_file(b, kind, i))) << kind << " " << i;
  EXPECT_EQ(read_bytes(a / "traj_w_c.txt"), read_bytes(b / "traj_w_c.txt"));
  EXPECT_EQ(read_bytes(a / "jnerf_scene.json"), read_bytes(b / "jnerf_scene.json"));

  // Another seed: other textures and path, same classes and instances.
  int different = 0;
  for (int i = 0; i < n; ++i) different += read_bytes(frame_file(a, "rgb", i)) != read_bytes(frame_file(c, "rgb", i));
  EXPECT_EQ(different, n);
  EXPECT_NE(read_bytes(a / "traj_w_c.txt"), read_bytes(c / "traj_w_c.txt"));
  const auto ma = read_meta(a), mc = read_meta(c);
  EXPECT_EQ(ma["class_names"], mc["class_names"]);
  EXPECT_EQ(ma["instances"], mc["instances"]);
  EXPECT_EQ(mc["seed"], 8);
  EXPECT_EQ(sc.seed, 8u);
}

TEST(SynthOutput, OverwritesOnlyItsOwnFilesAndWritesPreview) {
  const fs::path out = jnerf::test::scratch_dir("out");
  fs::create_directories(out / "rgb");
  std::ofstream(out / "notes.txt") << "keep me";
  std::ofstream(out / "rgb" / "rgb_7.png") << "stale frame of an earlier, longer run";
  std::ofstream(out / "rgb" / "rgb_extra.png") << "not ours";
  const SynthSummary s = run("room1", out, 40, 30, 3, 0, 0, true);
  EXPECT_EQ(read_bytes(out / "notes.txt"), "keep me");
  EXPECT_TRUE(fs::exists(out / "rgb" / "rgb_extra.png"));
  EXPECT_FALSE(fs::exists(out / "rgb" / "rgb_7.png"));
  for (int i = 0; i < 3; ++i)
    for (const char* kind : {"rgb", "depth", "class", "instance"}) EXPECT_TRUE(fs::exists(frame_file(out, kind, i)));
  EXPECT_FALSE(fs::exists(frame_file(out, "rgb", 3)));
  EXPECT_EQ(read_traj(out).size(), 3u);
  // Preview: one column per frame (3 here), rows RGB / classes / instances, 2-pixel gaps.
  ASSERT_EQ(s.preview, out / "preview.png");
  const ImageU8 sheet = read_image_u8(out / "preview.png");
  EXPECT_EQ(sheet.width, 3 * 40 + 2 * 2);
  EXPECT_EQ(sheet.height, 3 * 30 + 2 * 2);
  EXPECT_EQ(sheet.channels, 3);
  // Its top-left tile is frame 0's colour image.
  const ImageU8 rgb0 = read_image_u8(frame_file(out, "rgb", 0));
  for (int y = 0; y < 30; y += 7)
    for (int x = 0; x < 40; x += 7)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(sheet.at(x, y, c), rgb0.at(x, y, c));
}
