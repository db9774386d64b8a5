// scripts/extract_dino_features.py in its offline --tiny-random mode: the descriptor files
// it writes load through DescriptorGrid with the documented names and grid shape.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/io/image_io.hpp"
#include "jnerf/io/npy.hpp"
#include "jnerf/shape/descriptor_grid.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

bool torch_available() {
  return std::system((std::string(kPython) + " -c 'import torch, numpy' >/dev/null 2>&1").c_str()) == 0;
}

// Exit status of the script run with `args`; its output goes to `log`.
int run_script(const std::string& args, const fs::path& log) {
  const std::string cmd = std::string(kPython) + " " + JNERF_SOURCE_DIR + "/scripts/extract_dino_features.py " +
                          args + " >" + log.string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::set<std::string> npy_names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".npy") names.insert(e.path().filename().string());
  return names;
}

// A 64 x 48 RGB frame with structure (gradients, a block, per-frame variation).
jnerf::ImageU8 frame_image(int k) {
  jnerf::ImageU8 img(64, 48, 3);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) {
      const bool block = x > 20 + 8 * k && x < 44 && y > 10 && y < 30;
      img.at(x, y, 0) = static_cast<std::uint8_t>((x * 4 + 37 * k) % 256);
      img.at(x, y, 1) = static_cast<std::uint8_t>((y * 5 + x * y % 17) % 256);
      img.at(x, y, 2) = static_cast<std::uint8_t>(block ? 230 : 20 + 3 * k);
    }
  return img;
}

}  // namespace

TEST(ExtractDinoFeatures, TinyRandomWritesLoadableDeterministicGrids) {
  if (!torch_available()) GTEST_SKIP() << kPython << " cannot import torch and numpy (apt-get install python3-torch)";
  const fs::path dir = jnerf::test::scratch_dir("dino");
  fs::create_directories(dir / "data" / "rgb");
  for (int k = 0; k < 2; ++k) jnerf::write_png(dir / "data" / "rgb" / ("rgb_" + std::to_string(k) + ".png"), frame_image(k));

  // the same frames through the dataset layout and through a plain image folder
  ASSERT_EQ(run_script("--data " + (dir / "data").string() + " --out " + (dir / "a").string() +
                           " --tiny-random --seed 3 --device cpu",
                       dir / "a.log"),
            0)
      << slurp(dir / "a.log");
  ASSERT_EQ(run_script("--images " + (dir / "data" / "rgb").string() + " --out " + (dir / "b").string() +
                           " --tiny-random --seed 3 --device cpu",
                       dir / "b.log"),
            0)
      << slurp(dir / "b.log");

  const std::set<std::string> want = {"rgb_0.npy", "rgb_1.npy"};
  EXPECT_EQ(npy_names(dir / "a"), want);
  EXPECT_EQ(npy_names(dir / "b"), want);
  EXPECT_EQ(jnerf::descriptor_path(dir / "a", "rgb/rgb_1.png"), dir / "a" / "rgb_1.npy");

  // 64 x 48 -> short side 360: 480 x 360; patch 8, stride 4
  const int resized_h = 360, resized_w = 360 * 64 / 48;
  const int rows = (resized_h - 8) / 4 + 1, cols = (resized_w - 8) / 4 + 1;
  ASSERT_EQ(rows, 89);
  ASSERT_EQ(cols, 119);
  std::vector<jnerf::DescriptorGrid> grids;
  for (const std::string& name : want) {
    const jnerf::DescriptorGrid g = jnerf::DescriptorGrid::load(dir / "a" / name);  // rejects non-finite values
    EXPECT_EQ(g.grid_height(), rows) << name;
    EXPECT_EQ(g.grid_width(), cols) << name;
    EXPECT_EQ(g.dims(), 16) << name;
    EXPECT_EQ(jnerf::read_npy(dir / "a" / name).dtype, "<f2") << name;
    double energy = 0;
    for (float v : g.values()) energy += static_cast<double>(v) * v;
    EXPECT_GT(energy, 0.0) << name;
    // descriptors vary across the frame (not one constant vector)
    EXPECT_NE(std::vector<float>(g.cell(0, 0), g.cell(0, 0) + 16), std::vector<float>(g.cell(44, 60), g.cell(44, 60) + 16));
    grids.push_back(g);
    // determinism: the second run wrote the same bytes
    EXPECT_EQ(slurp(dir / "a" / name), slurp(dir / "b" / name)) << name;
  }
  EXPECT_NE(grids[0].values(), grids[1].values());
  // they resize to the frame like any descriptor file
  std::vector<float> d(16);
  grids[0].pixel_descriptor(64, 48, 63, 47, d.data());
  double len = 0;
  for (float v : d) len += static_cast<double>(v) * v;
  EXPECT_NEAR(len, 1.0, 1e-5);
}

TEST(ExtractDinoFeatures, BadInputExitsWithStatusTwo) {
  if (!torch_available()) GTEST_SKIP() << kPython << " cannot import torch and numpy (apt-get install python3-torch)";
  const fs::path dir = jnerf::test::scratch_dir("dino");
  EXPECT_EQ(run_script("--images " + (dir / "nowhere").string() + " --out " + (dir / "o").string() + " --tiny-random",
                       dir / "1.log"),
            2);
  EXPECT_TRUE(jnerf::test::contains(slurp(dir / "1.log"), "nowhere")) << slurp(dir / "1.log");
  fs::create_directories(dir / "empty");
  EXPECT_EQ(run_script("--data " + (dir / "empty").string() + " --out " + (dir / "o").string() + " --tiny-random",
                       dir / "2.log"),
            2);
  EXPECT_TRUE(jnerf::test::contains(slurp(dir / "2.log"), "rgb")) << slurp(dir / "2.log");
  jnerf::write_png(dir / "f.png", frame_image(0));
  EXPECT_EQ(run_script("--images " + dir.string() + " --out " + (dir / "o").string() + " --weights " +
                           (dir / "none.pth").string(),
                       dir / "3.log"),
            2);
  EXPECT_TRUE(jnerf::test::contains(slurp(dir / "3.log"), "none.pth")) << slurp(dir / "3.log");
}
