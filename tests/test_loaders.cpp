// Dataset loaders: tiny hand-made folders for every layout, plus the real scenes in
// ../shared/data (lego, fern, fox) when present.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/io/image_io.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace jnerf;

namespace {

using jnerf::test::contains;
using jnerf::test::input_error;

void write_text(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out << text;
}

std::vector<int> ids_of(const Dataset& ds, const std::vector<int>& indices) {
  std::vector<int> out;
  for (int i : indices) out.push_back(ds.frames[i].id);
  return out;
}
std::vector<int> all_ids(const Dataset& ds) {
  std::vector<int> out;
  for (const auto& f : ds.frames) out.push_back(f.id);
  return out;
}

std::string matrix_line(const Eigen::Matrix4d& m) {
  std::string s;
  char buf[64];
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      std::snprintf(buf, sizeof buf, "%.17g", m(r, c));
      s += (s.empty() ? "" : " ") + std::string(buf);
    }
  return s;
}

// ---------------------------------------------------------------- Replica fixture
struct ReplicaSpec {
  int count = 12, width = 8, height = 6;
  bool meta = true, depth = true, semantic = true, instance = true;
};

Eigen::Matrix4d replica_pose(int i) {
  Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
  const double a = 0.1 * i;
  m(0, 0) = std::cos(a);
  m(0, 1) = -std::sin(a);
  m(1, 0) = std::sin(a);
  m(1, 1) = std::cos(a);
  m(0, 3) = i;
  m(1, 3) = 0.5 * i;
  m(2, 3) = 1.0;
  return m;
}
std::uint8_t replica_rgb(int i, int x, int y, int c) { return static_cast<std::uint8_t>((i * 20 + x * 10 + y * 3 + c * 50) % 256); }
std::uint16_t replica_depth_mm(int i, int x, int y) { return static_cast<std::uint16_t>(1000 + 100 * i + 10 * x + y); }
std::uint8_t replica_class(int i, int x, int y) { return static_cast<std::uint8_t>((x + 2 * y + i) % 5); }
std::uint16_t replica_instance(int x, int y) { return static_cast<std::uint16_t>(300 + x + 10 * y); }

void write_replica(const fs::path& dir, const ReplicaSpec& s) {
  std::string traj;
  for (int i = 0; i < s.count; ++i) {
    traj += matrix_line(replica_pose(i)) + "\n";
    ImageU8 rgb(s.width, s.height, 3);
    ImageU16 depth(s.width, s.height, 1), inst(s.width, s.height, 1);
    ImageU8 sem(s.width, s.height, 1);
    for (int y = 0; y < s.height; ++y)
      for (int x = 0; x < s.width; ++x) {
        for (int c = 0; c < 3; ++c) rgb.at(x, y, c) = replica_rgb(i, x, y, c);
        depth.at(x, y) = replica_depth_mm(i, x, y);
        sem.at(x, y) = replica_class(i, x, y);
        inst.at(x, y) = replica_instance(x, y);
      }
    const std::string n = std::to_string(i);
    write_png(dir / "rgb" / ("rgb_" + n + ".png"), rgb);
    if (s.depth) write_png16(dir / "depth" / ("depth_" + n + ".png"), depth);
    if (s.semantic) write_png(dir / "semantic_class" / ("semantic_class_" + n + ".png"), sem);
    if (s.instance) write_png16(dir / "semantic_instance" / ("semantic_instance_" + n + ".png"), inst);
  }
  write_text(dir / "traj_w_c.txt", traj);
  if (s.meta)
    write_text(dir / "jnerf_scene.json",
               R"({"generator": "test", "preset": "tiny", "seed": 1, "width": )" + std::to_string(s.width) +
                   R"(, "height": )" + std::to_string(s.height) +
                   R"(, "intrinsics": {"fx": 5.0, "fy": 5.5, "cx": 3.5, "cy": 2.5}, "depth_scale": 1000,
                   "near": 0.2, "far": 7.0, "class_names": ["void", "wall", "floor", "chair", "table"],
                   "instances": [{"id": 1, "class": 3, "name": "chair_0"}],
                   "scene_min": [-1, -2, -3], "scene_max": [1, 2, 3], "frames": )" +
                   std::to_string(s.count) + "}");
}

LoadOptions replica_options(const fs::path& dir) {
  LoadOptions o;
  o.path = dir;
  o.train_step = 5;
  o.test_offset = 2;
  return o;
}

}  // namespace

// ---------------------------------------------------------------- basics
TEST(LoaderIntrinsics, DownscaleKeepsThePixelCentreConvention) {
  Intrinsics k;
  k.width = 321;
  k.height = 240;
  k.fx = 160;
  k.fy = 170;
  k.cx = 160;  // centred for 321 pixels
  k.cy = 119.5;
  k.distortion = {0.1, 0.2, 0.3, 0.4};
  const Intrinsics d = k.downscaled(2);
  EXPECT_EQ(d.width, 160);  // remainder cropped
  EXPECT_EQ(d.height, 120);
  EXPECT_DOUBLE_EQ(d.fx, 80);
  EXPECT_DOUBLE_EQ(d.fy, 85);
  EXPECT_DOUBLE_EQ(d.cx, 79.75);  // (160 + 0.5) / 2 - 0.5
  EXPECT_DOUBLE_EQ(d.cy, 59.5);   // centred stays centred: (120 - 1) / 2
  EXPECT_EQ(d.distortion, k.distortion);
  const Intrinsics e = k.downscaled(8);
  EXPECT_EQ(e.width, 40);
  EXPECT_DOUBLE_EQ(e.cy, 14.5);  // (240/8 - 1) / 2
  EXPECT_DOUBLE_EQ(k.downscaled(1).cx, 160);
  EXPECT_THROW(k.downscaled(0), InputError);
}

TEST(LoaderFrame, PinholeMatchesIntrinsicsAndPose) {
  Frame f;
  f.intrinsics.fx = 100;
  f.intrinsics.fy = 120;
  f.intrinsics.cx = 49.5;
  f.intrinsics.cy = 39.5;
  f.c2w = replica_pose(3);
  const PinholeCamera cam = f.pinhole();
  EXPECT_FLOAT_EQ(cam.fx, 100.f);
  EXPECT_FLOAT_EQ(cam.cy, 39.5f);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_FLOAT_EQ(cam.c2w[4 * r + c], static_cast<float>(f.c2w(r, c)));
  const Ray ray = camera_ray(cam, 49.5f, 39.5f);  // principal point: along the camera z axis
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(ray.direction[r], f.c2w(r, 2), 1e-6);
}

TEST(LoaderDataset, NumClassesCountsNamesAndMaps) {
  Dataset ds;
  EXPECT_EQ(ds.num_classes(), 0);
  ds.class_names = {"void", "a", "b"};
  EXPECT_EQ(ds.num_classes(), 3);
  Frame f;
  f.semantic = ImageU16(2, 2, 1, 1);
  f.semantic.at(1, 1) = 6;
  ds.frames.push_back(f);
  EXPECT_EQ(ds.num_classes(), 7);
}

// ---------------------------------------------------------------- Replica
TEST(ReplicaLoader, SplitDepthLabelsAndMetadata) {
  const fs::path dir = test::scratch_dir("replica");
  write_replica(dir, {});
  const Dataset ds = load_dataset(replica_options(dir));
  EXPECT_EQ(ds.format, "replica");
  EXPECT_EQ(all_ids(ds), (std::vector<int>{0, 2, 5, 7, 10}));  // only train and test frames are read
  EXPECT_EQ(ids_of(ds, ds.train), (std::vector<int>{0, 5, 10}));
  EXPECT_EQ(ids_of(ds, ds.test), (std::vector<int>{2, 7}));  // 12 is past the end
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"void", "wall", "floor", "chair", "table"}));
  EXPECT_EQ(ds.num_classes(), 5);
  EXPECT_FLOAT_EQ(ds.near, 0.2f);
  EXPECT_FLOAT_EQ(ds.far, 7.f);
  ASSERT_TRUE(ds.has_scene_box);
  EXPECT_EQ(ds.scene_min, Eigen::Vector3d(-1, -2, -3));
  EXPECT_EQ(ds.scene_max, Eigen::Vector3d(1, 2, 3));
  EXPECT_TRUE(ds.warnings.empty());

  const Frame& f = ds.frames[3];  // id 7
  ASSERT_EQ(f.id, 7);
  EXPECT_EQ(f.name, "rgb/rgb_7.png");
  EXPECT_TRUE(f.c2w.isApprox(replica_pose(7), 1e-12));
  EXPECT_EQ(f.intrinsics.width, 8);
  EXPECT_EQ(f.intrinsics.height, 6);
  EXPECT_DOUBLE_EQ(f.intrinsics.fx, 5.0);
  EXPECT_DOUBLE_EQ(f.intrinsics.fy, 5.5);
  EXPECT_DOUBLE_EQ(f.intrinsics.cx, 3.5);
  EXPECT_DOUBLE_EQ(f.intrinsics.cy, 2.5);
  EXPECT_FLOAT_EQ(f.near, 0.2f);
  ASSERT_EQ(f.rgb.channels, 3);
  ASSERT_EQ(f.depth.width, 8);
  ASSERT_EQ(f.semantic.height, 6);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) {
      for (int c = 0; c < 3; ++c) ASSERT_FLOAT_EQ(f.rgb.at(x, y, c), replica_rgb(7, x, y, c) / 255.f);
      ASSERT_FLOAT_EQ(f.depth.at(x, y), replica_depth_mm(7, x, y) / 1000.f);  // mm -> m
      ASSERT_EQ(f.semantic.at(x, y), replica_class(7, x, y));
      ASSERT_EQ(f.instance.at(x, y), replica_instance(x, y));
    }
  EXPECT_FLOAT_EQ(f.depth.at(3, 2), 1.732f);
}

TEST(ReplicaLoader, DefaultsWithoutMetadataAreSemanticNerfs) {
  const fs::path dir = test::scratch_dir("replica");
  ReplicaSpec s;
  s.count = 3;
  s.width = 320;
  s.height = 240;
  s.meta = false;
  write_replica(dir, s);
  LoadOptions o = replica_options(dir);
  o.load_images = false;
  const Dataset ds = load_dataset(o);
  ASSERT_EQ(all_ids(ds), (std::vector<int>{0, 2}));
  const Intrinsics& k = ds.frames[0].intrinsics;  // hfov 90 degrees
  EXPECT_EQ(k.width, 320);
  EXPECT_EQ(k.height, 240);
  EXPECT_DOUBLE_EQ(k.fx, 160);
  EXPECT_DOUBLE_EQ(k.fy, 160);
  EXPECT_DOUBLE_EQ(k.cx, 159.5);
  EXPECT_DOUBLE_EQ(k.cy, 119.5);
  EXPECT_FLOAT_EQ(ds.near, 0.1f);
  EXPECT_FLOAT_EQ(ds.far, 10.f);
  EXPECT_TRUE(ds.class_names.empty());
  EXPECT_FALSE(ds.has_scene_box);
  EXPECT_TRUE(ds.frames[0].rgb.empty());  // cameras only
}

TEST(ReplicaLoader, OptionalFoldersMayBeMissing) {
  const fs::path dir = test::scratch_dir("replica");
  ReplicaSpec s;
  s.depth = s.semantic = s.instance = false;
  write_replica(dir, s);
  const Dataset ds = load_replica(replica_options(dir));
  ASSERT_EQ(ds.frames.size(), 5u);
  for (const Frame& f : ds.frames) {
    EXPECT_FALSE(f.rgb.empty());
    EXPECT_TRUE(f.depth.empty());
    EXPECT_TRUE(f.semantic.empty());
    EXPECT_TRUE(f.instance.empty());
  }
  EXPECT_EQ(ds.num_classes(), 5);  // from the names alone
}

TEST(ReplicaLoader, MissingFilesAreInputErrorsNamingThem) {
  const fs::path dir = test::scratch_dir("replica");
  write_replica(dir, {});
  fs::remove(dir / "rgb" / "rgb_5.png");
  const std::string msg = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg, "rgb_5.png")) << msg;

  // a frame outside the split may be absent
  write_replica(dir, {});
  fs::remove(dir / "rgb" / "rgb_4.png");
  EXPECT_NO_THROW(load_dataset(replica_options(dir)));

  fs::remove(dir / "depth" / "depth_7.png");
  const std::string msg2 = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg2, "depth_7.png")) << msg2;

  write_replica(dir, {});
  write_text(dir / "rgb" / "rgb_10.png", "not a png at all");
  const std::string corrupt = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(corrupt, "rgb_10.png")) << corrupt;
  fs::remove(dir / "jnerf_scene.json");  // size now sniffed from rgb_0.png's header
  write_text(dir / "rgb" / "rgb_0.png", "\x89PNG garbage");
  const std::string corrupt0 = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(corrupt0, "rgb_0.png")) << corrupt0;

  const std::string msg3 = input_error([&] { load_dataset(replica_options(dir / "nowhere")); });
  EXPECT_TRUE(contains(msg3, "nowhere")) << msg3;
}

TEST(ReplicaLoader, BadTrajectoryLineIsNamed) {
  const fs::path dir = test::scratch_dir("replica");
  write_replica(dir, {});
  std::string traj;
  for (int i = 0; i < 12; ++i) {
    std::string line = matrix_line(replica_pose(i));
    if (i == 3) line = line.substr(0, line.rfind(' '));  // 15 numbers
    traj += line + "\n";
  }
  write_text(dir / "traj_w_c.txt", traj);
  const std::string msg = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg, "traj_w_c.txt line 4")) << msg;
  EXPECT_TRUE(contains(msg, "found 15")) << msg;

  write_text(dir / "traj_w_c.txt", matrix_line(replica_pose(0)) + "\n1 0 0 0 0 1 0 0 0 0 1 x 0 0 0 1\n");
  const std::string msg2 = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg2, "line 2")) << msg2;
  EXPECT_TRUE(contains(msg2, "'x'")) << msg2;
}

TEST(ReplicaLoader, WrongImageSizeAndBadMetadataAreNamed) {
  const fs::path dir = test::scratch_dir("replica");
  write_replica(dir, {});
  write_png(dir / "rgb" / "rgb_2.png", ImageU8(9, 6, 3, 0));
  const std::string msg = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg, "rgb_2.png")) << msg;
  EXPECT_TRUE(contains(msg, "9x6")) << msg;

  write_replica(dir, {});
  write_png16(dir / "semantic_instance" / "semantic_instance_5.png", ImageU16(8, 5, 1, 0));
  const std::string msg2 = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg2, "semantic_instance_5.png")) << msg2;

  write_replica(dir, {});
  write_text(dir / "jnerf_scene.json", "{\"width\": 8, ");
  const std::string msg3 = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg3, "jnerf_scene.json")) << msg3;

  write_text(dir / "jnerf_scene.json", R"({"width": 8, "height": 6, "intrinsics": {"fx": "wide"}})");
  const std::string msg4 = input_error([&] { load_dataset(replica_options(dir)); });
  EXPECT_TRUE(contains(msg4, "jnerf_scene.json") && contains(msg4, "fx")) << msg4;
}

TEST(ReplicaLoader, DownscaleUsesAreaForColourAndCentreSamplesForMaps) {
  const fs::path dir = test::scratch_dir("replica");
  write_replica(dir, {});
  LoadOptions o = replica_options(dir);
  o.downscale = 2;
  const Dataset ds = load_dataset(o);
  const Frame& f = ds.frames[1];  // id 2
  ASSERT_EQ(f.id, 2);
  EXPECT_EQ(f.intrinsics.width, 4);
  EXPECT_EQ(f.intrinsics.height, 3);
  EXPECT_DOUBLE_EQ(f.intrinsics.fx, 2.5);
  EXPECT_DOUBLE_EQ(f.intrinsics.fy, 2.75);
  EXPECT_DOUBLE_EQ(f.intrinsics.cx, 1.5);
  EXPECT_DOUBLE_EQ(f.intrinsics.cy, 1.0);
  ASSERT_EQ(f.rgb.width, 4);
  ASSERT_EQ(f.semantic.width, 4);
  ASSERT_EQ(f.depth.height, 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) {
      for (int c = 0; c < 3; ++c) {
        float mean = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) mean += replica_rgb(2, 2 * x + dx, 2 * y + dy, c) / 255.f;
        EXPECT_NEAR(f.rgb.at(x, y, c), mean / 4, 1e-6);
      }
      EXPECT_EQ(f.semantic.at(x, y), replica_class(2, 2 * x + 1, 2 * y + 1));
      EXPECT_EQ(f.instance.at(x, y), replica_instance(2 * x + 1, 2 * y + 1));
      EXPECT_FLOAT_EQ(f.depth.at(x, y), replica_depth_mm(2, 2 * x + 1, 2 * y + 1) / 1000.f);
    }
}

TEST(ReplicaLoader, FrameIdsMaxFramesAndCameraOnly) {
  const fs::path dir = test::scratch_dir("replica");
  write_replica(dir, {});
  {
    LoadOptions o = replica_options(dir);
    o.frame_ids = {7, 5, 3};
    const Dataset ds = load_dataset(o);
    EXPECT_EQ(all_ids(ds), (std::vector<int>{5, 7}));
    EXPECT_EQ(ids_of(ds, ds.train), (std::vector<int>{5}));
    EXPECT_EQ(ids_of(ds, ds.test), (std::vector<int>{7}));
    ASSERT_EQ(ds.warnings.size(), 1u);  // id 3 is neither train nor test
    EXPECT_TRUE(contains(ds.warnings[0], "frame id 3")) << ds.warnings[0];
  }
  {
    LoadOptions o = replica_options(dir);
    o.max_frames = 2;  // train 0,5,10 -> 0,10 (evenly, ends kept); test 2,7 -> both
    const Dataset ds = load_dataset(o);
    EXPECT_EQ(ids_of(ds, ds.train), (std::vector<int>{0, 10}));
    EXPECT_EQ(ids_of(ds, ds.test), (std::vector<int>{2, 7}));
    o.max_frames = 1;
    const Dataset one = load_dataset(o);
    EXPECT_EQ(ids_of(one, one.train), (std::vector<int>{0}));
    EXPECT_EQ(ids_of(one, one.test), (std::vector<int>{2}));
  }
  {
    LoadOptions o = replica_options(dir);
    o.test_offset = 0;  // test views = train views
    o.load_images = false;
    const Dataset ds = load_dataset(o);
    EXPECT_EQ(all_ids(ds), (std::vector<int>{0, 5, 10}));
    EXPECT_EQ(ds.train, ds.test);
    EXPECT_TRUE(ds.frames[0].rgb.empty());
    EXPECT_EQ(ds.frames[0].intrinsics.width, 8);
  }
  {
    LoadOptions o = replica_options(dir);
    o.frame_ids = {1};
    EXPECT_THROW(load_dataset(o), InputError);  // nothing left
  }
}

// ---------------------------------------------------------------- ScanNet
namespace {

std::uint8_t scannet_rgb(int i, int bx, int by, int c) { return static_cast<std::uint8_t>(i * 30 + bx * 20 + by * 7 + c * 60); }
std::uint16_t scannet_raw_label(int x, int y) {
  static const std::uint16_t raw[4] = {5, 7, 99, 0};
  return raw[(x + y) % 4];
}

Eigen::Matrix4d scannet_pose(int i) {
  Eigen::Matrix4d m = replica_pose(i);
  m(2, 3) = 1.5 + 0.1 * i;
  return m;
}

// Scene folder dir/scene0000_00 with 6 frames; colour 16x12, depth/labels 8x6.
fs::path write_scannet(const fs::path& parent, bool tsv) {
  const fs::path dir = parent / "scene0000_00";
  for (int i = 0; i < 6; ++i) {
    const std::string n = std::to_string(i);
    ImageU8 rgb(16, 12, 3);
    for (int y = 0; y < 12; ++y)
      for (int x = 0; x < 16; ++x)
        for (int c = 0; c < 3; ++c) rgb.at(x, y, c) = scannet_rgb(i, x / 2, y / 2, c);
    write_png(dir / "color" / (n + ".jpg"), rgb);  // PNG bytes: stb reads by content
    ImageU16 depth(8, 6, 1), label(8, 6, 1), inst(8, 6, 1);
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 8; ++x) {
        depth.at(x, y) = static_cast<std::uint16_t>(500 + 100 * i + x);
        label.at(x, y) = scannet_raw_label(x, y);
        inst.at(x, y) = static_cast<std::uint16_t>(x + 1);
      }
    write_png16(dir / "depth" / (n + ".png"), depth);
    write_png16(dir / "label-filt" / (n + ".png"), label);
    write_png16(dir / "instance-filt" / (n + ".png"), inst);
    if (i == 3)
      write_text(dir / "pose" / (n + ".txt"), "-inf -inf -inf -inf\n-inf -inf -inf -inf\n-inf -inf -inf -inf\n-inf -inf -inf -inf\n");
    else {
      const Eigen::Matrix4d p = scannet_pose(i);
      std::string text;
      for (int r = 0; r < 4; ++r) {
        for (int c = 0; c < 4; ++c) text += std::to_string(p(r, c)) + (c < 3 ? " " : "\n");
      }
      write_text(dir / "pose" / (n + ".txt"), text);
    }
  }
  write_text(dir / "intrinsic" / "intrinsic_color.txt", "20 0 7.5 0\n0 22 5.5 0\n0 0 1 0\n0 0 0 1\n");
  write_text(dir / "intrinsic" / "intrinsic_depth.txt", "10 0 3.5 0\n0 11 2.5 0\n0 0 1 0\n0 0 0 1\n");
  if (tsv)
    write_text(parent / "scannetv2-labels.combined.tsv",
               "raw_category\tid\tcategory\tcount\tnyu40id\teigen13id\n"
               "chair\t5\tchair\t100\t3\t5\n"
               "desk\t7\tdesk\t50\t14\t14\n"
               "thing\t8\tthing\t2\t\t\n");
  return dir;
}

LoadOptions scannet_options(const fs::path& dir) {
  LoadOptions o;
  o.path = dir;
  o.train_step = 2;
  o.test_offset = 1;
  return o;
}

}  // namespace

TEST(ScanNetLoader, SplitResizeMappingAndInvalidPoses) {
  const fs::path parent = test::scratch_dir("scannet");
  const fs::path dir = write_scannet(parent, true);
  EXPECT_EQ(detect_format(dir), "scannet");
  const Dataset ds = load_dataset(scannet_options(dir));
  EXPECT_EQ(ds.format, "scannet");
  EXPECT_EQ(all_ids(ds), (std::vector<int>{0, 1, 2, 4, 5}));  // 3 has an invalid pose
  EXPECT_EQ(ids_of(ds, ds.train), (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(ids_of(ds, ds.test), (std::vector<int>{1, 5}));
  bool warned_pose = false, warned_label = false;
  for (const auto& w : ds.warnings) {
    warned_pose |= contains(w, "3.txt");
    warned_label |= contains(w, "99");
  }
  EXPECT_TRUE(warned_pose);
  EXPECT_TRUE(warned_label);  // raw id 99 is not in the mapping
  ASSERT_EQ(ds.class_names.size(), 41u);
  EXPECT_EQ(ds.class_names[0], "void");
  EXPECT_EQ(ds.class_names[14], "desk");
  EXPECT_EQ(ds.class_names[40], "otherprop");

  const Frame& f = ds.frames[2];  // id 2
  ASSERT_EQ(f.id, 2);
  EXPECT_EQ(f.name, "color/2.jpg");
  EXPECT_TRUE(f.c2w.isApprox(scannet_pose(2), 1e-5));
  // colour camera rescaled from 16x12 to the 8x6 label/depth size
  EXPECT_EQ(f.intrinsics.width, 8);
  EXPECT_EQ(f.intrinsics.height, 6);
  EXPECT_DOUBLE_EQ(f.intrinsics.fx, 10);
  EXPECT_DOUBLE_EQ(f.intrinsics.fy, 11);
  EXPECT_DOUBLE_EQ(f.intrinsics.cx, 3.5);
  EXPECT_DOUBLE_EQ(f.intrinsics.cy, 2.5);
  ASSERT_EQ(f.rgb.width, 8);
  ASSERT_EQ(f.rgb.height, 6);
  const std::uint16_t nyu[4] = {3, 14, 0, 0};
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) {
      for (int c = 0; c < 3; ++c) ASSERT_NEAR(f.rgb.at(x, y, c), scannet_rgb(2, x, y, c) / 255.f, 1e-6);
      ASSERT_EQ(f.semantic.at(x, y), nyu[(x + y) % 4]);
      ASSERT_FLOAT_EQ(f.depth.at(x, y), (500 + 200 + x) / 1000.f);
      ASSERT_EQ(f.instance.at(x, y), x + 1);
    }
}

TEST(ScanNetLoader, WithoutMappingLabelsAreNyu40AlreadyAndDownscaleApplies) {
  const fs::path parent = test::scratch_dir("scannet");
  const fs::path dir = write_scannet(parent, false);
  LoadOptions o = scannet_options(dir);
  o.downscale = 2;
  const Dataset ds = load_dataset(o);
  bool warned = false;
  for (const auto& w : ds.warnings) warned |= contains(w, "scannetv2-labels.combined.tsv");
  EXPECT_TRUE(warned);
  const Frame& f = ds.frames[0];
  EXPECT_EQ(f.intrinsics.width, 4);
  EXPECT_DOUBLE_EQ(f.intrinsics.fx, 5);
  EXPECT_DOUBLE_EQ(f.intrinsics.cx, 1.5);
  ASSERT_EQ(f.semantic.width, 4);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x) EXPECT_EQ(f.semantic.at(x, y), scannet_raw_label(2 * x + 1, 2 * y + 1));
}

TEST(ScanNetLoader, MissingIntrinsicsOrLabelFileIsNamed) {
  const fs::path parent = test::scratch_dir("scannet");
  const fs::path dir = write_scannet(parent, true);
  fs::remove(dir / "label-filt" / "4.png");
  const std::string msg = input_error([&] { load_dataset(scannet_options(dir)); });
  EXPECT_TRUE(contains(msg, "label-filt") && contains(msg, "4.png")) << msg;
  fs::remove(dir / "intrinsic" / "intrinsic_color.txt");
  const std::string msg2 = input_error([&] { load_dataset(scannet_options(dir)); });
  EXPECT_TRUE(contains(msg2, "intrinsic_color.txt")) << msg2;
}

// ---------------------------------------------------------------- Blender (hand-made)
namespace {

fs::path write_blender(const fs::path& dir, bool val) {
  ImageU8 img(4, 4, 4, 128);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) img.at(x, y, 3) = 255;
  const std::uint8_t p0[4] = {255, 0, 0, 0}, p1[4] = {10, 20, 30, 255}, p2[4] = {255, 255, 255, 51};
  for (int c = 0; c < 4; ++c) {
    img.at(0, 0, c) = p0[c];
    img.at(1, 0, c) = p1[c];
    img.at(2, 0, c) = p2[c];
  }
  write_png(dir / "train" / "r_0.png", img);
  write_png(dir / "train" / "r_1.png", img);
  write_png(dir / "val" / "r_0.png", img);
  // camera_angle_x = 2 atan(0.5): fx = 0.5 W / 0.5 = W
  const std::string angle = std::to_string(2 * std::atan(0.5));
  const std::string at_z4 = "[[1,0,0,0],[0,1,0,0],[0,0,1,4],[0,0,0,1]]";
  const std::string at_x4 = "[[0,0,1,4],[1,0,0,0],[0,1,0,0],[0,0,0,1]]";
  write_text(dir / "transforms_train.json", "{\"camera_angle_x\": " + angle +
                                                ", \"frames\": [{\"file_path\": \"./train/r_0\", \"transform_matrix\": " +
                                                at_z4 + "}, {\"file_path\": \"./train/r_1.png\", \"transform_matrix\": " +
                                                at_x4 + "}]}");
  if (val)
    write_text(dir / "transforms_val.json", "{\"camera_angle_x\": " + angle +
                                                ", \"frames\": [{\"file_path\": \"./val/r_0\", \"transform_matrix\": " +
                                                at_z4 + "}]}");
  return dir;
}

}  // namespace

TEST(BlenderLoader, CompositesAlphaAndConvertsOpenGlCameras) {
  const fs::path dir = write_blender(test::scratch_dir("blender"), true);
  LoadOptions o;
  o.path = dir;
  o.background = {0.f, 0.f, 1.f};
  const Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.format, "blender");
  ASSERT_EQ(ds.frames.size(), 3u);
  EXPECT_EQ(ds.train, (std::vector<int>{0, 1}));
  EXPECT_EQ(ds.test, (std::vector<int>{2}));
  EXPECT_TRUE(ds.warnings.empty());
  EXPECT_EQ(ds.frames[0].name, "train/r_0.png");
  EXPECT_EQ(ds.frames[2].name, "val/r_0.png");
  EXPECT_FLOAT_EQ(ds.near, 2.f);
  EXPECT_FLOAT_EQ(ds.far, 6.f);
  ASSERT_TRUE(ds.has_scene_box);
  EXPECT_EQ(ds.scene_max, Eigen::Vector3d::Constant(1.5));

  const Frame& f = ds.frames[0];
  EXPECT_NEAR(f.intrinsics.fx, 4.0, 1e-5);
  EXPECT_NEAR(f.intrinsics.fy, 4.0, 1e-5);
  EXPECT_DOUBLE_EQ(f.intrinsics.cx, 1.5);
  ASSERT_EQ(f.alpha.width, 4);
  // transparent red -> background blue; opaque -> itself; 20% white over blue
  EXPECT_FLOAT_EQ(f.rgb.at(0, 0, 0), 0.f);
  EXPECT_FLOAT_EQ(f.rgb.at(0, 0, 2), 1.f);
  EXPECT_FLOAT_EQ(f.rgb.at(1, 0, 1), 20 / 255.f);
  EXPECT_NEAR(f.rgb.at(2, 0, 0), 0.2f, 1e-6);
  EXPECT_NEAR(f.rgb.at(2, 0, 2), 1.0f, 1e-6);
  EXPECT_FLOAT_EQ(f.alpha.at(0, 0), 0.f);
  EXPECT_FLOAT_EQ(f.alpha.at(1, 0), 1.f);
  EXPECT_NEAR(f.alpha.at(2, 0), 0.2f, 1e-6);

  // OpenGL camera at (0,0,4) looking down -z: OpenCV forward is -z, down is -y.
  Eigen::Matrix4d want = Eigen::Matrix4d::Identity();
  want(1, 1) = -1;
  want(2, 2) = -1;
  want(2, 3) = 4;
  EXPECT_TRUE(f.c2w.isApprox(want));
  const Ray corner = camera_ray(f.pinhole(), 0.f, 0.f);  // top-left pixel: world -x, +y (up)
  EXPECT_LT(corner.direction[0], 0.f);
  EXPECT_GT(corner.direction[1], 0.f);
  EXPECT_FLOAT_EQ(corner.direction[2], -1.f);
  // second camera at (4,0,0): its forward (OpenCV +z) points to the origin
  const Eigen::Matrix4d& g = ds.frames[1].c2w;
  EXPECT_TRUE((g.block<3, 1>(0, 2).isApprox(Eigen::Vector3d(-1, 0, 0))));
  EXPECT_TRUE((g.block<3, 1>(0, 1).isApprox(Eigen::Vector3d(0, 0, -1))));  // down = -world z

  o.downscale = 2;
  const Dataset half = load_dataset(o);
  const Frame& h = half.frames[0];
  EXPECT_EQ(h.rgb.width, 2);
  EXPECT_NEAR(h.intrinsics.fx, 2.0, 1e-5);
  EXPECT_DOUBLE_EQ(h.intrinsics.cx, 0.5);
  EXPECT_NEAR(h.alpha.at(0, 0), (0 + 1 + 1 + 1) / 4.f, 1e-6);
}

TEST(BlenderLoader, MissingTestSplitWarnsAndMissingImageIsNamed) {
  const fs::path dir = write_blender(test::scratch_dir("blender"), false);
  LoadOptions o;
  o.path = dir;
  const Dataset ds = load_blender(o);  // test_split "val", file absent
  EXPECT_EQ(ds.frames.size(), 2u);
  EXPECT_TRUE(ds.test.empty());
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_TRUE(contains(ds.warnings[0], "transforms_val.json"));
  o.test_split = "test";
  EXPECT_TRUE(contains(load_blender(o).warnings.at(0), "transforms_test.json"));

  fs::remove(dir / "train" / "r_1.png");
  const std::string msg = input_error([&] { load_blender(o); });
  EXPECT_TRUE(contains(msg, "r_1.png")) << msg;
  write_text(dir / "transforms_train.json", "{\"camera_angle_x\": 0.5, \"frames\": [");
  const std::string msg2 = input_error([&] { load_blender(o); });
  EXPECT_TRUE(contains(msg2, "transforms_train.json")) << msg2;
  write_text(dir / "transforms_train.json", "{\"frames\": []}");
  const std::string msg3 = input_error([&] { load_blender(o); });
  EXPECT_TRUE(contains(msg3, "camera_angle_x")) << msg3;
}

// ---------------------------------------------------------------- instant-ngp (hand-made)
TEST(NgpLoader, ConvertsIntrinsicsSkipsMissingImagesAndHoldsOut) {
  const fs::path dir = test::scratch_dir("ngp");
  write_png(dir / "images" / "a.png", ImageU8(8, 6, 3, 100));
  write_png(dir / "images" / "b.png", ImageU8(8, 6, 3, 150));
  write_png(dir / "images" / "c.png", ImageU8(8, 6, 3, 200));
  const std::string m = "[[1,0,0,1],[0,1,0,2],[0,0,1,3],[0,0,0,1]]";
  write_text(dir / "transforms.json", R"({"fl_x": 10, "fl_y": 12, "cx": 4, "cy": 3, "w": 8, "h": 6,
      "k1": 0.1, "k2": -0.2, "p1": 0.01, "p2": 0.02, "aabb_scale": 2, "frames": [
      {"file_path": "images/a.png", "transform_matrix": )" + m + R"(},
      {"file_path": "images/missing.png", "transform_matrix": )" + m + R"(},
      {"file_path": "images/b", "transform_matrix": )" + m + R"(},
      {"file_path": "images/c.png", "fl_x": 20, "cx": 5, "transform_matrix": )" + m + R"(}]})");
  EXPECT_EQ(detect_format(dir), "ngp");
  LoadOptions o;
  o.path = dir;
  o.holdout_every = 2;
  const Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.format, "ngp");
  EXPECT_EQ(all_ids(ds), (std::vector<int>{0, 2, 3}));
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_TRUE(contains(ds.warnings[0], "missing.png")) << ds.warnings[0];
  EXPECT_EQ(ds.test, (std::vector<int>{0, 2}));  // every 2nd loaded frame
  EXPECT_EQ(ds.train, (std::vector<int>{1}));
  EXPECT_EQ(ds.frames[1].name, "images/b.png");

  const Intrinsics& k = ds.frames[0].intrinsics;
  EXPECT_DOUBLE_EQ(k.fx, 10);
  EXPECT_DOUBLE_EQ(k.fy, 12);
  EXPECT_DOUBLE_EQ(k.cx, 3.5);  // ngp cx counts from the image corner
  EXPECT_DOUBLE_EQ(k.cy, 2.5);
  EXPECT_EQ(k.distortion, (std::array<double, 4>{0.1, -0.2, 0.01, 0.02}));
  EXPECT_DOUBLE_EQ(ds.frames[2].intrinsics.fx, 20);  // per-frame override
  EXPECT_DOUBLE_EQ(ds.frames[2].intrinsics.fy, 12);
  EXPECT_DOUBLE_EQ(ds.frames[2].intrinsics.cx, 4.5);
  EXPECT_NEAR(ds.frames[1].rgb.at(0, 0, 0), 150 / 255.f, 1e-6);
  // OpenGL -> OpenCV
  EXPECT_DOUBLE_EQ(ds.frames[0].c2w(1, 1), -1);
  EXPECT_DOUBLE_EQ(ds.frames[0].c2w(2, 2), -1);
  EXPECT_DOUBLE_EQ(ds.frames[0].c2w(2, 3), 3);
  // box: instant-ngp's cube of side aabb_scale around (0.5, 0.5, 0.5) in its scaled space
  ASSERT_TRUE(ds.has_scene_box);
  EXPECT_NEAR(ds.scene_min.x(), -1 / 0.33, 1e-9);
  EXPECT_NEAR(ds.scene_max.z(), 1 / 0.33, 1e-9);
  EXPECT_FLOAT_EQ(ds.near, 0.05f);
  const double far = (Eigen::Vector3d::Constant(-1 / 0.33) - Eigen::Vector3d(1, 2, 3)).norm();
  EXPECT_NEAR(ds.frames[0].far, far, 1e-4);
  EXPECT_NEAR(ds.far, far, 1e-4);

  o.downscale = 2;
  const Dataset half = load_dataset(o);
  EXPECT_DOUBLE_EQ(half.frames[0].intrinsics.cx, 1.5);
  EXPECT_DOUBLE_EQ(half.frames[0].intrinsics.fx, 5);
  EXPECT_EQ(half.frames[0].rgb.width, 4);

  write_png(dir / "images" / "b.png", ImageU8(6, 8, 3, 150));
  const std::string msg = input_error([&] { load_dataset(o); });
  EXPECT_TRUE(contains(msg, "b.png") && contains(msg, "6x8")) << msg;
}

// ---------------------------------------------------------------- LLFF (hand-made)
namespace {

void write_npy_f64(const fs::path& file, int rows, int cols, const std::vector<double>& v) {
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::ofstream out(file, std::ios::binary);
  const unsigned char pre[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  out.write(reinterpret_cast<const char*>(pre), 8);
  const unsigned char len[2] = {static_cast<unsigned char>(header.size() & 0xff), static_cast<unsigned char>(header.size() >> 8)};
  out.write(reinterpret_cast<const char*>(len), 2);
  out << header;
  out.write(reinterpret_cast<const char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(double)));
}

// 3 views; LLFF rotation columns (down, right, back) = (world y, world x, -world z), so the
// OpenCV rotation is the identity; camera i at (i, 0, 0); bounds (1 + i, 10 + i).
void write_llff(const fs::path& dir, bool full, bool half) {
  std::vector<double> v;
  for (int i = 0; i < 3; ++i) {
    const double rows[3][5] = {{0, 1, 0, double(i), 6}, {1, 0, 0, 0, 8}, {0, 0, -1, 0, 10}};
    for (auto& r : rows) v.insert(v.end(), r, r + 5);
    v.push_back(1 + i);
    v.push_back(10 + i);
  }
  fs::create_directories(dir);
  write_npy_f64(dir / "poses_bounds.npy", 3, 17, v);
  for (int i = 0; i < 3; ++i) {
    const std::string name = "IMG_" + std::to_string(i) + ".png";
    if (full) write_png(dir / "images" / name, ImageU8(8, 6, 3, static_cast<std::uint8_t>(10 * i)));
    if (half) {
      ImageU8 img(4, 3, 3, static_cast<std::uint8_t>(10 * i + 1));
      img.at(0, 0, 0) = 201;
      write_png(dir / "images_2" / name, img);
    }
  }
  write_text(dir / "images_2" / "notes.txt", "not an image");
}

}  // namespace

TEST(LlffLoader, PosesBoundsFoldersAndHoldout) {
  const fs::path dir = test::scratch_dir("llff");
  write_llff(dir, true, true);
  EXPECT_EQ(detect_format(dir), "llff");
  LoadOptions o;
  o.path = dir;
  o.holdout_every = 2;
  const Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.format, "llff");
  ASSERT_EQ(ds.frames.size(), 3u);
  EXPECT_EQ(ds.test, (std::vector<int>{0, 2}));
  EXPECT_EQ(ds.train, (std::vector<int>{1}));
  EXPECT_EQ(ds.frames[1].name, "images/IMG_1.png");
  for (int i = 0; i < 3; ++i) {
    const Frame& f = ds.frames[i];
    Eigen::Matrix4d want = Eigen::Matrix4d::Identity();
    want(0, 3) = i;
    EXPECT_TRUE(f.c2w.isApprox(want)) << f.c2w;
    EXPECT_FLOAT_EQ(f.near, 1.f + i);
    EXPECT_FLOAT_EQ(f.far, 10.f + i);
    EXPECT_DOUBLE_EQ(f.intrinsics.fx, 10);
    EXPECT_DOUBLE_EQ(f.intrinsics.cx, 3.5);
    EXPECT_DOUBLE_EQ(f.intrinsics.cy, 2.5);
    EXPECT_NEAR(f.rgb.at(5, 5, 1), 10 * i / 255.f, 1e-6);
  }
  EXPECT_FLOAT_EQ(ds.near, 1.f);
  EXPECT_FLOAT_EQ(ds.far, 12.f);
  EXPECT_FALSE(ds.has_scene_box);

  o.downscale = 2;  // images_2 as it is
  const Dataset d2 = load_dataset(o);
  EXPECT_EQ(d2.frames[0].name, "images_2/IMG_0.png");
  EXPECT_EQ(d2.frames[0].rgb.width, 4);
  EXPECT_DOUBLE_EQ(d2.frames[0].intrinsics.fx, 5);
  EXPECT_DOUBLE_EQ(d2.frames[0].intrinsics.cx, 1.5);
  EXPECT_NEAR(d2.frames[0].rgb.at(0, 0, 0), 201 / 255.f, 1e-6);
  EXPECT_TRUE(d2.warnings.empty());

  o.downscale = 4;  // images_2 halved again
  const Dataset d4 = load_dataset(o);
  EXPECT_EQ(d4.frames[0].name, "images_2/IMG_0.png");
  EXPECT_EQ(d4.frames[0].rgb.width, 2);
  EXPECT_EQ(d4.frames[0].rgb.height, 1);
  EXPECT_DOUBLE_EQ(d4.frames[0].intrinsics.fx, 2.5);
  EXPECT_DOUBLE_EQ(d4.frames[0].intrinsics.cx, 0.5);
  EXPECT_DOUBLE_EQ(d4.frames[0].intrinsics.cy, 0.25);
  EXPECT_NEAR(d4.frames[0].rgb.at(0, 0, 0), (201 + 3 * 1) / 4.f / 255.f, 1e-6);

  o.downscale = 3;  // images/ divided by 3
  const Dataset d3 = load_dataset(o);
  EXPECT_EQ(d3.frames[0].name, "images/IMG_0.png");
  EXPECT_EQ(d3.frames[0].rgb.width, 2);
  EXPECT_DOUBLE_EQ(d3.frames[0].intrinsics.fx, 10.0 / 3);
}

TEST(LlffLoader, FallbackFolderAndErrors) {
  const fs::path dir = test::scratch_dir("llff");
  write_llff(dir, false, true);
  LoadOptions o;
  o.path = dir;
  const Dataset ds = load_dataset(o);  // downscale 1 but only images_2: used as it is, warned
  EXPECT_EQ(ds.frames[0].rgb.width, 4);
  EXPECT_DOUBLE_EQ(ds.frames[0].intrinsics.fx, 5);
  ASSERT_EQ(ds.warnings.size(), 1u);
  EXPECT_TRUE(contains(ds.warnings[0], "images_2"));

  fs::remove(dir / "images_2" / "IMG_2.png");
  const std::string msg = input_error([&] { load_dataset(o); });
  EXPECT_TRUE(contains(msg, "images_2") && contains(msg, "2 images") && contains(msg, "3 poses")) << msg;

  write_npy_f64(dir / "poses_bounds.npy", 2, 16, std::vector<double>(32, 1.0));
  const std::string msg2 = input_error([&] { load_dataset(o); });
  EXPECT_TRUE(contains(msg2, "poses_bounds.npy") && contains(msg2, "17")) << msg2;
}

// ---------------------------------------------------------------- format detection
TEST(DetectFormat, EachLayoutAndNothing) {
  const fs::path root = test::scratch_dir("detect");
  write_text(root / "b" / "transforms_train.json", "{}");
  write_text(root / "n" / "transforms.json", "{}");
  write_text(root / "l" / "poses_bounds.npy", "");
  write_text(root / "r" / "traj_w_c.txt", "");
  fs::create_directories(root / "s" / "pose");
  fs::create_directories(root / "s" / "color");
  fs::create_directories(root / "empty");
  write_text(root / "other" / "readme.txt", "hi");
  EXPECT_EQ(detect_format(root / "b"), "blender");
  EXPECT_EQ(detect_format(root / "n"), "ngp");
  EXPECT_EQ(detect_format(root / "l"), "llff");
  EXPECT_EQ(detect_format(root / "r"), "replica");
  EXPECT_EQ(detect_format(root / "s"), "scannet");
  for (const char* bad : {"empty", "other", "absent"}) {
    const std::string msg = input_error([&] { detect_format(root / bad); });
    EXPECT_TRUE(contains(msg, (root / bad).string())) << msg;
  }
  const std::string file_msg = input_error([&] { detect_format(root / "other" / "readme.txt"); });
  EXPECT_TRUE(contains(file_msg, "readme.txt")) << file_msg;
  LoadOptions o;
  o.path = root / "r";
  o.format = "colmap";
  const std::string fmt_msg = input_error([&] { load_dataset(o); });
  EXPECT_TRUE(contains(fmt_msg, "colmap")) << fmt_msg;
  o.format = "auto";
  o.path = root / "empty";
  EXPECT_THROW(load_dataset(o), InputError);
}

TEST(DetectFormat, SharedDatasets) {
  JN_REQUIRE_SHARED_DATA(data, "");
  const std::pair<const char*, const char*> cases[] = {
      {"nerf_synthetic/lego", "blender"}, {"nerf_llff_data/fern", "llff"}, {"fox", "ngp"}};
  for (const auto& [sub, format] : cases) {
    if (!fs::exists(data / sub)) continue;
    EXPECT_EQ(detect_format(data / sub), format) << sub;
  }
}

// ---------------------------------------------------------------- real data
TEST(BlenderLego, Downscale8) {
  JN_REQUIRE_SHARED_DATA(dir, "nerf_synthetic/lego");
  LoadOptions o;
  o.path = dir;
  o.downscale = 8;
  const Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.format, "blender");
  ASSERT_EQ(ds.frames.size(), 200u);
  EXPECT_EQ(ds.train.size(), 100u);
  EXPECT_EQ(ds.test.size(), 100u);
  EXPECT_TRUE(ds.warnings.empty());
  const double angle = 0.6911112070083618;  // transforms_train.json camera_angle_x
  const double fx = 0.5 * 800 / std::tan(0.5 * angle) / 8;
  int centre_on_object = 0;
  for (const Frame& f : ds.frames) {
    ASSERT_EQ(f.rgb.width, 100);
    ASSERT_EQ(f.rgb.height, 100);
    ASSERT_EQ(f.alpha.width, 100);
    EXPECT_NEAR(f.intrinsics.fx, fx, 1e-9);
    EXPECT_NEAR(f.intrinsics.fy, fx, 1e-9);
    EXPECT_DOUBLE_EQ(f.intrinsics.cx, 49.5);
    EXPECT_DOUBLE_EQ(f.intrinsics.cy, 49.5);
    for (int c = 0; c < 3; ++c) {  // white background in every corner
      EXPECT_GT(f.rgb.at(0, 0, c), 0.99f);
      EXPECT_GT(f.rgb.at(99, 99, c), 0.99f);
      EXPECT_GT(f.rgb.at(0, 99, c), 0.99f);
    }
    EXPECT_LT(f.alpha.at(0, 0), 0.01f);
    centre_on_object += f.alpha.at(50, 50) > 0.5f;
    // the optical axis passes through the origin (the object's centre)
    const Eigen::Vector3d c = f.c2w.block<3, 1>(0, 3), z = f.c2w.block<3, 1>(0, 2);
    EXPECT_NEAR(z.norm(), 1.0, 1e-5);
    EXPECT_LT((c - c.dot(z) * z).norm(), 1e-3) << f.name;
    EXPECT_LT(c.dot(z), 0.0);  // looking towards the origin
    EXPECT_NEAR(c.norm(), 4.03, 0.05);
    // OpenCV "down" points to world -z on this upright turntable (z-up Blender world)
    EXPECT_LT(f.c2w(2, 1), 0.0) << f.name;
  }
  EXPECT_GT(centre_on_object, 150);  // the lego sits in the middle of most views
}

TEST(LlffFern, ImagesFolder8) {
  JN_REQUIRE_SHARED_DATA(dir, "nerf_llff_data/fern");
  LoadOptions o;
  o.path = dir;
  o.downscale = 8;
  const Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.format, "llff");
  ASSERT_EQ(ds.frames.size(), 20u);
  EXPECT_TRUE(ds.warnings.empty());
  EXPECT_EQ(ds.test, (std::vector<int>{0, 8, 16}));
  EXPECT_EQ(ds.train.size(), 17u);
  for (const Frame& f : ds.frames) {
    EXPECT_EQ(f.name.rfind("images_8/", 0), 0u) << f.name;
    ASSERT_EQ(f.rgb.width, 504);
    ASSERT_EQ(f.rgb.height, 378);
    EXPECT_NEAR(f.intrinsics.fx, 3260.526 * 504 / 4032, 0.01);
    EXPECT_DOUBLE_EQ(f.intrinsics.cx, 251.5);
    EXPECT_GT(f.near, 0.f);
    EXPECT_LT(f.near, f.far);
    EXPECT_GE(f.near, ds.near);
    EXPECT_LE(f.far, ds.far);
    EXPECT_TRUE((f.c2w.block<3, 3>(0, 0).isUnitary(1e-4)));
    EXPECT_GT((f.c2w.block<3, 3>(0, 0).determinant()), 0.99);  // a rotation, not a reflection
  }
  EXPECT_NEAR(ds.near, 16.985, 0.01);
  EXPECT_NEAR(ds.far, 80.002, 0.01);
  // forward-facing: parallel optical axes, and the scene at mid-depth in front of every camera
  for (const Frame& a : ds.frames) {
    const Eigen::Vector3d za = a.c2w.block<3, 1>(0, 2);
    const Eigen::Vector3d p = a.c2w.block<3, 1>(0, 3) + 0.5 * (a.near + a.far) * za;
    for (const Frame& b : ds.frames) {
      const Eigen::Vector3d zb = b.c2w.block<3, 1>(0, 2);
      EXPECT_GT(za.dot(zb), 0.9);
      const Eigen::Vector3d q = b.c2w.transpose().block<3, 3>(0, 0) * (p - b.c2w.block<3, 1>(0, 3));
      EXPECT_GT(q.z(), b.near);  // in front, beyond the near bound
      // and inside the image
      const double u = b.intrinsics.fx * q.x() / q.z() + b.intrinsics.cx;
      const double v = b.intrinsics.fy * q.y() / q.z() + b.intrinsics.cy;
      EXPECT_TRUE(u > 0 && u < 504 && v > 0 && v < 378) << a.name << " -> " << b.name << ": " << u << ", " << v;
    }
  }
}

TEST(NgpFox, SkipsMissingImagesAndConvertsIntrinsics) {
  JN_REQUIRE_SHARED_DATA(dir, "fox");
  LoadOptions o;
  o.path = dir;
  o.downscale = 8;
  const Dataset ds = load_dataset(o);
  EXPECT_EQ(ds.format, "ngp");
  ASSERT_EQ(ds.frames.size(), 50u);
  ASSERT_EQ(ds.warnings.size(), 17u);
  for (const auto& w : ds.warnings) EXPECT_TRUE(contains(w, "not found") && contains(w, ".jpg")) << w;
  EXPECT_TRUE(contains(ds.warnings[0], "0005.jpg")) << ds.warnings[0];  // frames[4]
  std::vector<int> every8;
  for (int i = 0; i < 50; i += 8) every8.push_back(i);
  EXPECT_EQ(ds.test, every8);
  EXPECT_EQ(ds.train.size(), 43u);
  for (const Frame& f : ds.frames) {
    const Intrinsics& k = f.intrinsics;
    EXPECT_EQ(k.width, 135);
    EXPECT_EQ(k.height, 240);
    ASSERT_EQ(f.rgb.width, 135);
    ASSERT_EQ(f.rgb.height, 240);
    EXPECT_NEAR(k.fx, 1375.52 / 8, 1e-9);
    EXPECT_NEAR(k.fy, 1374.49 / 8, 1e-9);
    EXPECT_NEAR(k.cx, (554.558 - 0.5 + 0.5) / 8 - 0.5, 1e-9);
    EXPECT_NEAR(k.cy, (965.268 - 0.5 + 0.5) / 8 - 0.5, 1e-9);
    EXPECT_DOUBLE_EQ(k.distortion[0], 0.0578421);
    EXPECT_DOUBLE_EQ(k.distortion[3], 0.00015575);
    EXPECT_GT(f.far, f.near);
  }
  LoadOptions full = o;
  full.downscale = 1;
  full.load_images = false;
  const Dataset cams = load_dataset(full);
  EXPECT_NEAR(cams.frames[0].intrinsics.cx, 554.058, 1e-9);
  EXPECT_NEAR(cams.frames[0].intrinsics.cy, 964.768, 1e-9);
  EXPECT_EQ(cams.frames[0].intrinsics.width, 1080);
  // without w/h the size comes from the JPEG header (cameras only: nothing decoded)
  const fs::path tmp = test::scratch_dir("ngp");
  write_text(tmp / "transforms.json", R"({"fl_x": 1000, "frames": [{"file_path": ")" +
                                          (dir / "images" / "0001.jpg").generic_string() +
                                          R"(", "transform_matrix": [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}]})");
  LoadOptions sniff;
  sniff.path = tmp;
  sniff.load_images = false;
  const Dataset one = load_dataset(sniff);
  ASSERT_EQ(one.frames.size(), 1u);
  EXPECT_EQ(one.frames[0].intrinsics.width, 1080);
  EXPECT_EQ(one.frames[0].intrinsics.height, 1920);
  EXPECT_DOUBLE_EQ(one.frames[0].intrinsics.cx, 539.5);
  EXPECT_DOUBLE_EQ(one.frames[0].intrinsics.fy, 1000);
  // the cameras look at a common point: the box centre is in front of them all
  ASSERT_TRUE(cams.has_scene_box);
  const Eigen::Vector3d centre = 0.5 * (cams.scene_min + cams.scene_max);
  for (const Frame& f : cams.frames) {
    const Eigen::Vector3d z = f.c2w.block<3, 1>(0, 2);
    EXPECT_GT((centre - f.c2w.block<3, 1>(0, 3)).normalized().dot(z), 0.7) << f.name;
  }
}
