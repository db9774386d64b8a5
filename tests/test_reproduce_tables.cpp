// scripts/reproduce_tables.py end to end: one tiny generated room through train, shape and
// propagate, the tables it writes checked against jnerf's own metrics.json files, the dry
// run, resuming, and the bad-input exit status.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/config.hpp"
#include "cli_support.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using jnerf::test::contains;

using Result = jnerf::test::CliResult;
using jnerf::test::run_shell;

std::string quote(const std::string& s) { return "'" + s + "'"; }

// The script with Debian's python3; args follow.
Result run_script(const std::string& args) {
  return run_shell("/usr/bin/python3 " + quote(std::string(JNERF_SOURCE_DIR) + "/scripts/reproduce_tables.py") + " " +
                   args);
}

// Empty when /usr/bin/python3 imports numpy and matplotlib, else why not.
std::string python_missing() {
  const Result r = run_shell("/usr/bin/python3 -c 'import numpy, matplotlib'");
  if (r.code == 0) return "";
  return "/usr/bin/python3 cannot import numpy and matplotlib (install python3-numpy python3-matplotlib): " + r.output;
}

#define REQUIRE_PYTHON()                                                      \
  if (const std::string why = python_missing(); !why.empty()) GTEST_SKIP() << why;

// The smallest suite: one room at the --quick size, one click, one mode, semantic labels.
std::string quick_args(const fs::path& out) {
  return "--jnerf " + quote(JNERF_CLI_PATH) + " --out " + quote(out.string()) +
         " --scenes room0_small --quick --clicks 1 --modes linear3d --labels semantic"
         " --nerf-iters 20 --shape-iters 10 --threads 2";
}

// A CSV file as rows of fields (RFC 4180 quoting).
std::vector<std::vector<std::string>> read_csv(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field), field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(field), field.clear();
      rows.push_back(row), row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) row.push_back(field), rows.push_back(row);
  return rows;
}

const std::vector<std::string> kColumns = {
    "scene", "setting", "annotation", "clicks_per_class", "region_fraction", "mode", "labels", "seed",
    "method", "miou", "miou_valid", "acc_total", "acc_class", "seconds", "views", "clicks", "status", "metrics_json"};

std::string slurp(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(ReproduceTables, QuickSuiteWritesTablesThatMatchTheMetrics) {
  REQUIRE_PYTHON();
  const fs::path dir = jnerf::test::scratch_dir("quick");
  const fs::path out = dir / "out", tables = out / "tables";
  const Result r = run_script(quick_args(out));
  ASSERT_EQ(r.code, 0) << r.output;

  for (const char* name : {"results.md", "results.csv", "miou_vs_clicks.png", "runs.json"})
    EXPECT_TRUE(fs::exists(tables / name) && fs::file_size(tables / name) > 0) << name << "\n" << r.output;
  EXPECT_EQ(slurp(tables / "miou_vs_clicks.png").substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));

  // The CSV: the expected columns, every row complete.
  const auto rows = read_csv(tables / "results.csv");
  ASSERT_GE(rows.size(), 2u);
  ASSERT_EQ(rows[0], kColumns);
  std::map<std::string, std::size_t> col;
  for (std::size_t i = 0; i < kColumns.size(); ++i) col[kColumns[i]] = i;
  std::map<std::string, std::vector<std::size_t>> by_metrics;  // metrics.json -> its rows
  std::map<std::string, std::set<std::string>> methods_by_setting;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), kColumns.size()) << "row " << i;
    EXPECT_EQ(rows[i][col["scene"]], "room0_small");
    EXPECT_EQ(rows[i][col["mode"]], "linear3d");
    EXPECT_EQ(rows[i][col["labels"]], "semantic");
    const std::string& setting = rows[i][col["setting"]];
    EXPECT_TRUE(methods_by_setting[setting].insert(rows[i][col["method"]]).second)
        << "two rows for method " << rows[i][col["method"]] << " in " << setting;
    if (rows[i][col["status"]] == "ok") by_metrics[rows[i][col["metrics_json"]]].push_back(i);
    else EXPECT_EQ(setting, "dense") << "only dense may be unavailable: status " << rows[i][col["status"]];
  }
  // One propagation per setting: 1 click, regions 1% and 5%, dense.
  for (const char* setting : {"sparse-1", "regions-1%", "regions-5%", "dense"})
    EXPECT_TRUE(methods_by_setting.count(setting)) << setting;
  EXPECT_EQ(methods_by_setting.size(), 4u);
  // The baselines run only in the first setting.
  EXPECT_TRUE(methods_by_setting["sparse-1"].count("unshaped"));
  EXPECT_TRUE(methods_by_setting["sparse-1"].count("nearest_click"));
  EXPECT_EQ(methods_by_setting["regions-1%"], std::set<std::string>{"shaped"});

  // Every number equals jnerf's metrics.json, one row per method it reports.
  ASSERT_GE(by_metrics.size(), 3u);
  for (const auto& [file, indices] : by_metrics) {
    ASSERT_TRUE(fs::exists(file)) << file;
    const jnerf::Json m = jnerf::read_json_file(file);
    EXPECT_EQ(indices.size(), 1 + m["baselines"].size()) << file;
    for (std::size_t i : indices) {
      const std::string& method = rows[i][col["method"]];
      const jnerf::Json& mm = method == m["method"].get<std::string>() ? m : m["baselines"][method];
      ASSERT_TRUE(mm.is_object()) << method << " in " << file;
      for (const char* key : {"miou", "miou_valid", "acc_total", "acc_class"}) {
        const std::string cell = rows[i][col[key]];
        if (mm[key].is_null()) {
          EXPECT_EQ(cell, "") << key;
        } else {
          ASSERT_FALSE(cell.empty()) << key << " of " << method;
          EXPECT_DOUBLE_EQ(std::stod(cell), mm[key].get<double>()) << key << " of " << method << " in " << file;
        }
      }
    }
  }

  // The markdown: one table per setting and the summary.
  const std::string md = slurp(tables / "results.md");
  EXPECT_TRUE(contains(md, "## sparse, 1 click per class | linear3d | semantic labels")) << md;
  EXPECT_TRUE(contains(md, "## regions, 5% of each class")) << md;
  EXPECT_TRUE(contains(md, "## Summary: mean over scenes")) << md;
  EXPECT_TRUE(contains(md, "| room0_small | nearest_click |")) << md;

  // runs.json: every command with its exit status and duration.
  const jnerf::Json runs = jnerf::read_json_file(tables / "runs.json");
  std::map<std::string, int> ran;
  for (const auto& c : runs["commands"]) {
    if (c["status"] == "ok") {
      EXPECT_EQ(c["rc"].get<int>(), 0);
      EXPECT_GT(c["seconds"].get<double>(), 0.0);
      ++ran[c["stage"].get<std::string>()];
    }
  }
  EXPECT_EQ(ran["synth"], 1);
  EXPECT_EQ(ran["nerf"], 1);
  EXPECT_EQ(ran["shape"], 1);
  EXPECT_GE(ran["propagate"], 3);
  EXPECT_EQ(runs["failed"].get<int>(), 0);

  // Running again resumes: nothing is recomputed and the tables are the same.
  const std::string csv_before = slurp(tables / "results.csv");
  const Result again = run_script(quick_args(out));
  ASSERT_EQ(again.code, 0) << again.output;
  const jnerf::Json runs2 = jnerf::read_json_file(tables / "runs.json");
  for (const auto& c : runs2["commands"])
    EXPECT_TRUE(c["status"] == "skipped" || c["status"] == "reused") << c.dump();
  EXPECT_EQ(slurp(tables / "results.csv"), csv_before);
}

TEST(ReproduceTables, DryRunPrintsTheCommandsWithoutRunningThem) {
  REQUIRE_PYTHON();
  const fs::path dir = jnerf::test::scratch_dir("dry");
  const fs::path out = dir / "out";
  const Result r = run_script(quick_args(out) + " --dry-run");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, " synth --preset room0_small")) << r.output;
  EXPECT_TRUE(contains(r.output, " train --config ")) << r.output;
  EXPECT_TRUE(contains(r.output, " train --stage shape ")) << r.output;
  EXPECT_TRUE(contains(r.output, " propagate --run ")) << r.output;
  EXPECT_TRUE(contains(r.output, "propagate.annotation=dense")) << r.output;
  EXPECT_FALSE(fs::exists(out)) << "a dry run wrote " << out;
}

// Every propagation runs once per click seed, into its own folder (seed 0 keeps the plain one).
TEST(ReproduceTables, EverySeedGetsItsOwnPropagation) {
  REQUIRE_PYTHON();
  const fs::path out = jnerf::test::scratch_dir("seeds") / "out";
  const Result r = run_script(quick_args(out) + " --annotations sparse --seeds 3,0 --dry-run");
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path plain = out / "propagate" / "room0_small" / "semantic" / "linear3d" / "sparse_1";
  EXPECT_TRUE(contains(r.output, "--out " + plain.string() + " ")) << r.output;
  EXPECT_TRUE(contains(r.output, "--out " + plain.string() + "_seed3 ")) << r.output;
  EXPECT_TRUE(contains(r.output, "propagate.seed=0")) << r.output;
  EXPECT_TRUE(contains(r.output, "propagate.seed=3")) << r.output;
  EXPECT_FALSE(contains(r.output, "propagate.seed=1")) << r.output;
  const Result bad = run_script(quick_args(out) + " --seeds 1,x --dry-run");
  EXPECT_EQ(bad.code, 2) << bad.output;
  EXPECT_TRUE(contains(bad.output, "--seeds")) << bad.output;
}

TEST(ReproduceTables, BadInputExitsTwo) {
  REQUIRE_PYTHON();
  const fs::path dir = jnerf::test::scratch_dir("bad");
  Result r = run_script("--jnerf " + quote(JNERF_CLI_PATH) + " --out " + quote((dir / "out").string()) +
                        " --scenes none --scene room=/nonexistent/jnerf-scene:replica");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/jnerf-scene")) << r.output;

  r = run_script("--jnerf /nonexistent/jnerf --out " + quote((dir / "out").string()) + " --quick");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/jnerf")) << r.output;

  r = run_script("--jnerf " + quote(JNERF_CLI_PATH) + " --out " + quote((dir / "out").string()) + " --modes warp");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_FALSE(fs::exists(dir / "out"));
}
