// scripts/label_agreement.py: the pixel agreement of two propagate outputs on label maps
// with known differences, views present in one folder only, and its bad-input exits.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "cli_support.hpp"
#include "jnerf/core/config.hpp"
#include "jnerf/io/image_io.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using jnerf::test::run_shell;

std::string quote(const std::string& s) { return "'" + s + "'"; }

jnerf::test::CliResult run_script(const std::string& args) {
  return run_shell("/usr/bin/python3 " + quote(std::string(JNERF_SOURCE_DIR) + "/scripts/label_agreement.py") + " " +
                   args);
}

bool python_ready() { return run_shell("/usr/bin/python3 -c 'import numpy, matplotlib'").code == 0; }

// A W x H label map whose first `changed` pixels hold 700 + i, the rest 3 (16-bit ids).
void write_labels(const fs::path& file, int W, int H, int changed) {
  jnerf::ImageU16 img(W, H, 1);
  for (int i = 0; i < W * H; ++i) img.data[i] = i < changed ? static_cast<std::uint16_t>(700 + i) : 3;
  fs::create_directories(file.parent_path());
  jnerf::write_png16(file, img);
}

}  // namespace

TEST(LabelAgreement, CountsAgreeingPixelsOverTheCommonViews) {
  if (!python_ready()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy and matplotlib";
  const fs::path dir = jnerf::test::scratch_dir("label_agreement");
  // View 2: 5 of 12 pixels differ; view 7: identical; view 9 only in A (ignored).
  write_labels(dir / "a/shaped/labels_2.png", 4, 3, 5);
  write_labels(dir / "b/shaped/labels_2.png", 4, 3, 0);
  write_labels(dir / "a/shaped/labels_7.png", 4, 3, 2);
  write_labels(dir / "b/shaped/labels_7.png", 4, 3, 2);
  write_labels(dir / "a/shaped/labels_9.png", 4, 3, 0);
  const auto r = run_script(quote((dir / "a").string()) + " " + quote((dir / "b").string()) + " --json " +
                            quote((dir / "r.json").string()));
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream in(dir / "r.json");
  const jnerf::Json j = jnerf::Json::parse(in);
  EXPECT_EQ(j["pixels"].get<int>(), 24);
  EXPECT_EQ(j["agreeing"].get<int>(), 19);
  EXPECT_DOUBLE_EQ(j["agreement"].get<double>(), 19.0 / 24.0);
  ASSERT_EQ(j["views"].size(), 2u);
  EXPECT_EQ(j["views"][0]["view"].get<std::string>(), "2");
  EXPECT_EQ(j["views"][0]["agreeing"].get<int>(), 7);
  EXPECT_EQ(j["views"][1]["agreeing"].get<int>(), 12);
  EXPECT_NE(r.output.find("79.17% of 24 pixels agree"), std::string::npos) << r.output;
}

TEST(LabelAgreement, BadInputExitsWithTwo) {
  if (!python_ready()) GTEST_SKIP() << "/usr/bin/python3 cannot import numpy and matplotlib";
  const fs::path dir = jnerf::test::scratch_dir("label_agreement_bad");
  write_labels(dir / "a/shaped/labels_1.png", 4, 3, 0);
  write_labels(dir / "b/shaped/labels_1.png", 5, 3, 0);
  write_labels(dir / "c/shaped/labels_4.png", 4, 3, 0);
  const auto missing = run_script(quote((dir / "a").string()) + " " + quote((dir / "nowhere").string()));
  EXPECT_EQ(missing.code, 2) << missing.output;
  EXPECT_NE(missing.output.find("is not a folder"), std::string::npos) << missing.output;
  const auto sizes = run_script(quote((dir / "a").string()) + " " + quote((dir / "b").string()));
  EXPECT_EQ(sizes.code, 2) << sizes.output;
  EXPECT_NE(sizes.output.find("different sizes"), std::string::npos) << sizes.output;
  const auto disjoint = run_script(quote((dir / "a").string()) + " " + quote((dir / "c").string()));
  EXPECT_EQ(disjoint.code, 2) << disjoint.output;
  EXPECT_NE(disjoint.output.find("no view has labels in both"), std::string::npos) << disjoint.output;
}
