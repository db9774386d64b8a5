#include <fstream>

#include <gtest/gtest.h>

#include "jnerf/core/config.hpp"
#include "jnerf/core/error.hpp"
#include "test_support.hpp"

using jnerf::InputError;
using jnerf::Json;

TEST(Config, DefaultsCarryThePaperConstants) {
  const Json c = jnerf::default_config();
  EXPECT_EQ(jnerf::config_get<int>(c, "train.rays_per_batch"), 1024);
  EXPECT_DOUBLE_EQ(jnerf::config_get<double>(c, "train.lr"), 5e-4);
  EXPECT_EQ(jnerf::config_get<int>(c, "shape.rays_per_batch"), 64);
  EXPECT_DOUBLE_EQ(jnerf::config_get<double>(c, "shape.tau_init"), 0.8);
  EXPECT_DOUBLE_EQ(jnerf::config_get<double>(c, "propagate.step"), 0.1);
}

TEST(Config, MergeOverridesOnlyNamedKeys) {
  Json c = jnerf::default_config();
  jnerf::merge_config(c, Json::parse(R"({"train": {"iters": 500}, "data": {"background": [0, 0, 0]}})"), "x.json");
  EXPECT_EQ(jnerf::config_get<int>(c, "train.iters"), 500);
  EXPECT_EQ(jnerf::config_get<int>(c, "train.rays_per_batch"), 1024);
  EXPECT_EQ(jnerf::config_get<std::vector<double>>(c, "data.background"), (std::vector<double>{0, 0, 0}));
}

TEST(Config, UnknownKeyIsNamedWithSuggestion) {
  Json c = jnerf::default_config();
  const std::string msg =
      jnerf::test::input_error([&] { jnerf::merge_config(c, Json::parse(R"({"train": {"itres": 5}})"), "my.json"); });
  EXPECT_NE(msg.find("my.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'train.itres'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'iters'"), std::string::npos) << msg;
}

TEST(Config, WrongTypesAreNamedWithTheExpectedType) {
  Json c = jnerf::default_config();
  std::string msg = jnerf::test::input_error([&] { jnerf::merge_config(c, Json::parse(R"({"train": {"iters": 2.5}})"), "f"); });
  EXPECT_NE(msg.find("'train.iters' expects an integer"), std::string::npos) << msg;
  msg = jnerf::test::input_error([&] { jnerf::merge_config(c, Json::parse(R"({"train": {"lr": "fast"}})"), "f"); });
  EXPECT_NE(msg.find("'train.lr' expects a number"), std::string::npos) << msg;
  msg = jnerf::test::input_error([&] { jnerf::merge_config(c, Json::parse(R"({"train": 3})"), "f"); });
  EXPECT_NE(msg.find("'train' must be a JSON object"), std::string::npos) << msg;
  msg = jnerf::test::input_error([&] { jnerf::merge_config(c, Json::parse(R"({"data": {"background": [1, "x", 0]}})"), "f"); });
  EXPECT_NE(msg.find("'data.background[1]' expects a number"), std::string::npos) << msg;
  msg = jnerf::test::input_error([&] { jnerf::merge_config(c, Json::parse(R"({"sampler": {"perturb": 1}})"), "f"); });
  EXPECT_NE(msg.find("expects a boolean"), std::string::npos) << msg;
}

TEST(Config, IntegralFloatIsAcceptedAsInteger) {
  Json c = jnerf::default_config();
  jnerf::merge_config(c, Json::parse(R"({"train": {"iters": 1e4}})"), "f");
  EXPECT_TRUE(jnerf::config_at(c, "train.iters").is_number_integer());
  EXPECT_EQ(jnerf::config_get<int>(c, "train.iters"), 10000);
}

TEST(Config, SetOverridesParseByTheDefaultType) {
  Json c = jnerf::default_config();
  jnerf::apply_override(c, "train.iters=42");
  jnerf::apply_override(c, "data.path=/tmp/123");
  jnerf::apply_override(c, "data.format=replica");
  jnerf::apply_override(c, "sampler.perturb=false");
  jnerf::apply_override(c, "data.frames=[1,2,3]");
  EXPECT_EQ(jnerf::config_get<int>(c, "train.iters"), 42);
  EXPECT_EQ(jnerf::config_get<std::string>(c, "data.path"), "/tmp/123");
  EXPECT_EQ(jnerf::config_get<std::string>(c, "data.format"), "replica");
  EXPECT_FALSE(jnerf::config_get<bool>(c, "sampler.perturb"));
  EXPECT_EQ(jnerf::config_get<std::vector<int>>(c, "data.frames"), (std::vector<int>{1, 2, 3}));

  EXPECT_NE(jnerf::test::input_error([&] { jnerf::apply_override(c, "train.nope=1"); }).find("'train.nope'"), std::string::npos);
  EXPECT_NE(jnerf::test::input_error([&] { jnerf::apply_override(c, "train.iters"); }).find("key.path=value"), std::string::npos);
  EXPECT_NE(jnerf::test::input_error([&] { jnerf::apply_override(c, "train.iters=abc"); }).find("expects an integer"),
            std::string::npos);
}

TEST(Config, FileErrorsNameTheFileAndPosition) {
  const auto dir = jnerf::test::scratch_dir("cfg");
  EXPECT_NE(jnerf::test::input_error([&] { jnerf::read_json_file(dir / "missing.json"); }).find("missing.json"), std::string::npos);
  {
    std::ofstream(dir / "bad.json") << "{\n  \"train\": {\n    \"iters\": 5,\n  }\n}\n";
  }
  const std::string msg = jnerf::test::input_error([&] { jnerf::read_json_file(dir / "bad.json"); });
  EXPECT_NE(msg.find("bad.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 4"), std::string::npos) << msg;
}

TEST(Config, ResolveAppliesFileThenOverridesAndRoundTrips) {
  const auto dir = jnerf::test::scratch_dir("cfg");
  std::ofstream(dir / "c.json") << R"({"_comment": "x", "train": {"iters": 7, "lr": 1e-3}})";
  const Json c = jnerf::resolve_config(dir / "c.json", {"train.iters=9"});
  EXPECT_EQ(jnerf::config_get<int>(c, "train.iters"), 9);
  EXPECT_DOUBLE_EQ(jnerf::config_get<double>(c, "train.lr"), 1e-3);
  jnerf::write_json_file(dir / "resolved.json", c);
  // A resolved config is itself a valid config that resolves to the same thing.
  EXPECT_EQ(jnerf::resolve_config(dir / "resolved.json", {}), c);
}

TEST(Config, ShippedConfigsResolve) {
  const auto configs = std::filesystem::path(JNERF_SOURCE_DIR) / "configs";
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) {
    if (entry.path().extension() != ".json") continue;
    EXPECT_NO_THROW(jnerf::resolve_config(entry.path(), {})) << entry.path();
    ++n;
  }
  EXPECT_GT(n, 0);
}
