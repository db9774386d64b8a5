#include <fstream>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/train/checkpoint.hpp"
#include "test_support.hpp"

namespace {

jnerf::Checkpoint sample_checkpoint() {
  jnerf::Checkpoint ck;
  ck.meta = {{"step", 1234}, {"stage", "nerf"}, {"tau", 0.79}};
  ck.arrays.emplace_back("params", std::vector<float>{1.f, -2.5f, 3e-8f, 1e30f});
  ck.arrays.emplace_back("adam_m", std::vector<float>{});
  ck.arrays.emplace_back("adam_v", std::vector<float>(1000, 0.25f));
  return ck;
}

}  // namespace

TEST(Checkpoint, RoundTripIsExact) {
  const auto dir = jnerf::test::scratch_dir("ck");
  const jnerf::Checkpoint ck = sample_checkpoint();
  jnerf::save_checkpoint(dir / "a.ckpt", ck);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.ckpt.tmp"));
  const jnerf::Checkpoint back = jnerf::load_checkpoint(dir / "a.ckpt");
  EXPECT_EQ(back.meta, ck.meta);
  ASSERT_EQ(back.arrays.size(), 3u);
  EXPECT_EQ(back.array("params"), ck.array("params"));
  EXPECT_TRUE(back.array("adam_m").empty());
  EXPECT_EQ(back.array("adam_v"), ck.array("adam_v"));
  EXPECT_THROW(back.array("nope"), jnerf::InputError);
}

TEST(Checkpoint, CorruptionIsDetectedAndNamed) {
  const auto dir = jnerf::test::scratch_dir("ck");
  jnerf::save_checkpoint(dir / "a.ckpt", sample_checkpoint());
  const auto size = std::filesystem::file_size(dir / "a.ckpt");

  // Flip one payload byte: the checksum catches it.
  std::filesystem::copy_file(dir / "a.ckpt", dir / "flip.ckpt");
  {
    std::fstream f(dir / "flip.ckpt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 10));
    f.put('\x7f');
  }
  try {
    jnerf::load_checkpoint(dir / "flip.ckpt");
    FAIL();
  } catch (const jnerf::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("flip.ckpt"), std::string::npos) << e.what();
  }

  // Truncate: reported as truncated.
  std::filesystem::copy_file(dir / "a.ckpt", dir / "short.ckpt");
  std::filesystem::resize_file(dir / "short.ckpt", size - 100);
  try {
    jnerf::load_checkpoint(dir / "short.ckpt");
    FAIL();
  } catch (const jnerf::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }

  std::ofstream(dir / "text.ckpt") << "hello world, not a checkpoint";
  EXPECT_THROW(jnerf::load_checkpoint(dir / "text.ckpt"), jnerf::InputError);
  EXPECT_THROW(jnerf::load_checkpoint(dir / "missing.ckpt"), jnerf::InputError);
}
