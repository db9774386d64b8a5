// The command-line contract: exit codes and messages, run through the real binary.
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "jnerf/core/config.hpp"
#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

using Result = jnerf::test::CliResult;
using jnerf::test::run_cli;

using jnerf::test::contains;

}  // namespace

TEST(Cli, InfoReportsVersionAndBackends) {
  const Result r = run_cli("info --json");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"version\":\"" JNERF_VERSION "\"")) << r.output;
  EXPECT_TRUE(contains(r.output, "\"cuda\"")) << r.output;
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli("").code, 2);
  EXPECT_EQ(run_cli("frobnicate").code, 2);
  EXPECT_EQ(run_cli("synth --preset room0 --out /tmp/x --width notanumber").code, 2);
  EXPECT_EQ(run_cli("bench --stage warp").code, 2);
  EXPECT_EQ(run_cli("--help").code, 0);
}

TEST(Cli, ConfigErrorsNameTheKeyAndExitTwo) {
  const auto dir = jnerf::test::scratch_dir("cli");
  std::ofstream(dir / "bad.json") << R"({"train": {"iters": "many"}})";
  Result r = run_cli("config --config '" + (dir / "bad.json").string() + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "train.iters")) << r.output;
  EXPECT_TRUE(contains(r.output, "bad.json")) << r.output;

  r = run_cli("config --set shape.tau=0.5");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "shape.tau")) << r.output;

  r = run_cli("config --config '" + (dir / "absent.json").string() + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "absent.json")) << r.output;
}

TEST(Cli, ConfigPrintsResolvedValues) {
  const Result r = run_cli("config --set train.iters=1234");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "\"iters\": 1234")) << r.output;
}

TEST(Cli, BadShapingSettingsNameTheValueAndExitTwo) {
  Result r = run_cli("--device cpu bench --stage shape --iters 1 --set shape.jacobian_channels=grey");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "grey")) << r.output;
  r = run_cli("--device cpu bench --stage shape --iters 1 --set shape.similarity=euclid");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "euclid")) << r.output;
}

TEST(Cli, DeviceCudaWithoutGpuIsBadInput) {
  const Result info = run_cli("info --json");
  if (!contains(info.output, "\"gpus\":[]")) GTEST_SKIP() << "a GPU is present";
  const Result r = run_cli("--device cuda bench --stage nerf");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "--device cuda")) << r.output;
}

TEST(Cli, DatasetOnMissingFolderNamesIt) {
  const Result r = run_cli("dataset --data /nonexistent/jnerf-data");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "/nonexistent/jnerf-data")) << r.output;
}

TEST(Cli, TrainThenRenderWritesTheRunFolderAndMetrics) {
  const auto dir = jnerf::test::scratch_dir("cli");
  const std::string scene = (dir / "scene").string(), run = (dir / "run").string();
  ASSERT_EQ(jnerf::test::synth_tiny_room(scene).code, 0);
  const std::string sets = jnerf::test::kTinyHashGridRun;
  Result r = run_cli("--device cpu train --out '" + run + "' --set 'data.path=" + scene + "'" + sets);
  ASSERT_EQ(r.code, 0) << r.output;
  // The run config pins the geometry taken from the dataset.
  const jnerf::Json config = jnerf::read_json_file(dir / "run" / "config.json");
  EXPECT_EQ(config["model"]["hash_grid"]["scene_box"].size(), 6u);
  EXPECT_GT(config["sampler"]["near"].get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "checkpoints" / "nerf_000000003.ckpt"));
  // A second train into the same folder without --resume is refused.
  EXPECT_EQ(run_cli("--device cpu train --out '" + run + "' --set 'data.path=" + scene + "'" + sets).code, 2);

  r = run_cli("--device cpu render --run '" + run + "' --max-views 2 --out '" + (dir / "render").string() + "'");
  ASSERT_EQ(r.code, 0) << r.output;
  const jnerf::Json metrics = jnerf::read_json_file(dir / "render" / "metrics.json");
  EXPECT_EQ(metrics["views"].get<int>(), 2);
  EXPECT_GT(metrics["psnr_mean"].get<double>(), 0.0);
  EXPECT_TRUE(std::filesystem::exists(dir / "render" / "rgb_00002.png"));
}

// Stage nerf, stage shape and propagation through the program on a tiny room: the run
// folder, the shape checkpoint, the propagation outputs and their metrics.
TEST(Cli, ShapeThenPropagateWritesMetricsAndImages) {
  const auto dir = jnerf::test::scratch_dir("cli");
  const std::string scene = (dir / "scene").string(), run = (dir / "run").string();
  ASSERT_EQ(jnerf::test::synth_tiny_room(scene).code, 0);
  const std::string sets = jnerf::test::kTinyHashGridRun + " --set shape.iters=4 --set shape.rays_per_batch=16";
  // Shaping before a NeRF exists is refused, naming what is missing.
  Result r = run_cli("--device cpu train --stage shape --out '" + run + "'");
  EXPECT_EQ(r.code, 2);
  ASSERT_EQ(run_cli("--device cpu train --out '" + run + "' --set 'data.path=" + scene + "'" + sets).code, 0);
  r = run_cli("--device cpu train --stage shape --out '" + run + "'");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "checkpoints" / "shape_000000004.ckpt"));
  EXPECT_TRUE(std::filesystem::exists(dir / "run" / "shape_progress.csv"));
  EXPECT_EQ(jnerf::read_json_file(dir / "run" / "metrics.json")["stage"], "shape");
  // Shaping again without --resume is refused; with --resume at the end there is nothing to do.
  EXPECT_EQ(run_cli("--device cpu train --stage shape --out '" + run + "'").code, 2);
  EXPECT_EQ(run_cli("--device cpu train --stage shape --resume --out '" + run + "'").code, 0);

  const std::string out = (dir / "prop").string();
  r = run_cli("--device cpu propagate --run '" + run + "' --set propagate.mode=linear3d --set propagate.max_views=2"
              " --set 'propagate.baselines=[\"unshaped\",\"nearest_click\"]' --out '" + out + "'");
  ASSERT_EQ(r.code, 0) << r.output;
  const jnerf::Json m = jnerf::read_json_file(dir / "prop" / "metrics.json");
  EXPECT_EQ(m["method"], "shaped");
  EXPECT_EQ(m["mode"], "linear3d");
  EXPECT_EQ(m["views"].get<int>(), 2);
  for (const char* key : {"miou", "acc_total", "acc_class"}) {
    ASSERT_TRUE(m[key].is_number()) << key;
    EXPECT_GE(m[key].get<double>(), 0.0);
    EXPECT_LE(m[key].get<double>(), 1.0);
  }
  EXPECT_TRUE(m["baselines"]["unshaped"]["miou"].is_number());
  EXPECT_TRUE(m["baselines"]["nearest_click"]["miou"].is_number());
  EXPECT_TRUE(contains(r.output, "| shaped |"));
  EXPECT_TRUE(std::filesystem::exists(dir / "prop" / "clicks.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "prop" / "results.md"));
  const auto strips = std::distance(std::filesystem::directory_iterator(dir / "prop" / "shaped"),
                                    std::filesystem::directory_iterator{});
  EXPECT_EQ(strips, 4);  // strip and labels per view

  // The saved clicks reproduce the run exactly.
  r = run_cli("--device cpu propagate --run '" + run + "' --set propagate.mode=linear3d --set propagate.max_views=2"
              " --set 'propagate.baselines=[]' --set 'propagate.clicks_file=" + out + "/clicks.json' --out '" +
              (dir / "again").string() + "'");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(jnerf::read_json_file(dir / "again" / "metrics.json")["miou"], m["miou"]);

  // Bad input: an unknown mode, a run folder with nothing in it.
  r = run_cli("--device cpu propagate --run '" + run + "' --set propagate.mode=warp --out '" + out + "'");
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.output, "warp"));
  EXPECT_EQ(run_cli("--device cpu propagate --run '" + (dir / "nothing").string() + "' --out '" + out + "'").code, 2);
}
