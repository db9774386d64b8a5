#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/io/image_io.hpp"
#include "jnerf/io/palette.hpp"
#include "test_support.hpp"

TEST(ImageIo, Png8RoundTripIsExact) {
  const auto dir = jnerf::test::scratch_dir("img");
  jnerf::ImageU8 img(5, 3, 3);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<std::uint8_t>(i * 17 % 256);
  jnerf::write_png(dir / "a.png", img);
  const jnerf::ImageU8 back = jnerf::read_image_u8(dir / "a.png");
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.data, img.data);
}

TEST(ImageIo, Png16RoundTripKeepsFullRange) {
  const auto dir = jnerf::test::scratch_dir("img");
  jnerf::ImageU16 img(7, 4, 1);
  for (std::size_t i = 0; i < img.data.size(); ++i) img.data[i] = static_cast<std::uint16_t>(i * 2399 + 3);
  img.at(6, 3) = 65535;
  img.at(0, 0) = 0;
  jnerf::write_png16(dir / "d.png", img);
  const jnerf::ImageU16 back = jnerf::read_image_u16(dir / "d.png");
  ASSERT_EQ(back.width, 7);
  ASSERT_EQ(back.height, 4);
  EXPECT_EQ(back.data, img.data);
}

TEST(ImageIo, EightBitLabelsReadAsRawIds) {
  const auto dir = jnerf::test::scratch_dir("img");
  jnerf::ImageU8 labels(4, 2, 1);
  for (std::size_t i = 0; i < labels.data.size(); ++i) labels.data[i] = static_cast<std::uint8_t>(i * 30);
  jnerf::write_png(dir / "l.png", labels);
  const jnerf::ImageU16 back = jnerf::read_image_u16(dir / "l.png");
  for (std::size_t i = 0; i < labels.data.size(); ++i) EXPECT_EQ(back.data[i], labels.data[i]);
}

TEST(ImageIo, FloatConversionRoundsAndClamps) {
  jnerf::ImageF f(3, 1, 1);
  f.data = {-0.5f, 0.5f, 2.f};
  const jnerf::ImageU8 u = jnerf::to_u8(f);
  EXPECT_EQ(u.data, (std::vector<std::uint8_t>{0, 128, 255}));
  EXPECT_FLOAT_EQ(jnerf::to_float(u).data[2], 1.f);
}

TEST(ImageIo, ErrorsNameTheFile) {
  const auto dir = jnerf::test::scratch_dir("img");
  try {
    jnerf::read_image_u8(dir / "nope.png");
    FAIL();
  } catch (const jnerf::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("nope.png"), std::string::npos);
  }
  std::ofstream(dir / "junk.png") << "not a png";
  try {
    jnerf::read_image_u8(dir / "junk.png");
    FAIL();
  } catch (const jnerf::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("junk.png"), std::string::npos);
  }
}

TEST(ImageIo, DownscaleAreaAveragesBlocksAndNearestTakesCentres) {
  jnerf::ImageF f(4, 2, 1);
  f.data = {0, 1, 2, 3, 4, 5, 6, 7};
  const jnerf::ImageF a = jnerf::downscale_area(f, 2);
  ASSERT_EQ(a.width, 2);
  ASSERT_EQ(a.height, 1);
  EXPECT_FLOAT_EQ(a.data[0], (0 + 1 + 4 + 5) / 4.f);
  EXPECT_FLOAT_EQ(a.data[1], (2 + 3 + 6 + 7) / 4.f);
  jnerf::ImageU16 l(6, 3, 1);
  for (std::size_t i = 0; i < l.data.size(); ++i) l.data[i] = static_cast<std::uint16_t>(i);
  const jnerf::ImageU16 n = jnerf::downscale_nearest(l, 3);
  ASSERT_EQ(n.width, 2);
  ASSERT_EQ(n.height, 1);
  EXPECT_EQ(n.data[0], l.at(1, 1));
  EXPECT_EQ(n.data[1], l.at(4, 1));
  EXPECT_THROW(jnerf::downscale_area(f, 0), jnerf::InputError);
}

TEST(Palette, VoidIsBlackAndIdsAreDistinct) {
  EXPECT_EQ(jnerf::label_colour(0), (std::array<std::uint8_t, 3>{0, 0, 0}));
  std::set<std::array<std::uint8_t, 3>> seen;
  for (std::uint32_t id = 1; id <= 64; ++id) {
    const auto c = jnerf::label_colour(id);
    EXPECT_GT(int(c[0]) + c[1] + c[2], 0) << id;
    seen.insert(c);
  }
  EXPECT_EQ(seen.size(), 64u);
  jnerf::ImageU16 labels(2, 1, 1);
  labels.data = {0, 3};
  const jnerf::ImageU8 rgb = jnerf::colourise_labels(labels);
  EXPECT_EQ(rgb.at(1, 0, 0), jnerf::label_colour(3)[0]);
  EXPECT_EQ(rgb.at(0, 0, 2), 0);
}
