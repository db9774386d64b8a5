// .npy reader: files written byte by byte here, read back through jnerf::read_npy.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "jnerf/core/error.hpp"
#include "jnerf/io/npy.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using jnerf::InputError;
using jnerf::read_npy;

namespace {

// A complete .npy file: magic, version, header length, dict padded to a multiple of 64.
std::vector<unsigned char> npy_bytes(const std::string& dict, const std::vector<unsigned char>& data, int major = 1) {
  const std::size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<unsigned char>(major), 0};
  const std::size_t len = header.size();
  out.push_back(static_cast<unsigned char>(len & 0xff));
  out.push_back(static_cast<unsigned char>((len >> 8) & 0xff));
  if (major != 1) {
    out.push_back(static_cast<unsigned char>((len >> 16) & 0xff));
    out.push_back(static_cast<unsigned char>((len >> 24) & 0xff));
  }
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <class T>
std::vector<unsigned char> raw(const std::vector<T>& values) {
  std::vector<unsigned char> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());  // the test host is little-endian
  return out;
}

fs::path write_file(const fs::path& dir, const std::string& name, const std::vector<unsigned char>& bytes) {
  const fs::path file = dir / name;
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return file;
}

std::string error_of(const fs::path& file) {
  try {
    read_npy(file);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Npy, Float32COrder) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  const std::vector<float> v = {1.5f, -2.f, 3.25f, 0.f, 1e-3f, 7.f};
  const fs::path f = write_file(dir, "a.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", raw(v)));
  const jnerf::NpyArray a = read_npy(f);
  ASSERT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  ASSERT_EQ(a.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.values[i], static_cast<double>(v[i])) << i;
}

TEST(Npy, Float64FortranOrderBecomesCOrder) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  // A[i][j] = 10 i + j, 2x3, stored column by column.
  const std::vector<double> fortran = {0, 10, 1, 11, 2, 12};
  const fs::path f = write_file(dir, "f.npy", npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", raw(fortran)));
  const jnerf::NpyArray a = read_npy(f);
  ASSERT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.values, (std::vector<double>{0, 1, 2, 10, 11, 12}));
}

TEST(Npy, FortranOrder3D) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  // shape (2, 3, 4), A[i][j][k] = 100 i + 10 j + k; Fortran: i fastest, then j, then k.
  std::vector<std::int32_t> fortran;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) fortran.push_back(100 * i + 10 * j + k);
  const fs::path f = write_file(dir, "f3.npy", npy_bytes("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", raw(fortran)));
  const jnerf::NpyArray a = read_npy(f);
  ASSERT_EQ(a.size(), 24u);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) EXPECT_EQ(a.values[(i * 3 + j) * 4 + k], 100 * i + 10 * j + k);
}

TEST(Npy, Float16) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  const std::vector<std::uint16_t> h = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x7C00, 0x8000, 0x3555};
  const fs::path f = write_file(dir, "h.npy", npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }", raw(h)));
  const jnerf::NpyArray a = read_npy(f);
  ASSERT_EQ(a.shape, (std::vector<std::size_t>{8}));
  EXPECT_EQ(a.values[0], 1.0);
  EXPECT_EQ(a.values[1], -2.0);
  EXPECT_EQ(a.values[2], 0.5);
  EXPECT_EQ(a.values[3], 65504.0);
  EXPECT_EQ(a.values[4], std::ldexp(1.0, -24));  // smallest subnormal
  EXPECT_TRUE(std::isinf(a.values[5]) && a.values[5] > 0);
  EXPECT_EQ(a.values[6], 0.0);
  EXPECT_TRUE(std::signbit(a.values[6]));
  EXPECT_NEAR(a.values[7], 1.0 / 3.0, 1e-3);  // 0x3555 = 0.33325
}

TEST(Npy, IntegerAndBoolTypesAndVersions) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  {
    const std::vector<std::int16_t> v = {-32768, -1, 0, 32767};
    const auto a = read_npy(write_file(dir, "i2.npy", npy_bytes("{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }", raw(v), 2)));
    EXPECT_EQ(a.values, (std::vector<double>{-32768, -1, 0, 32767}));
  }
  {
    const std::vector<std::uint8_t> v = {0, 7, 255};
    const auto a = read_npy(write_file(dir, "u1.npy", npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", raw(v), 3)));
    EXPECT_EQ(a.values, (std::vector<double>{0, 7, 255}));
  }
  {
    const std::vector<std::int8_t> v = {-128, 5};
    const auto a = read_npy(write_file(dir, "i1.npy", npy_bytes("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", raw(v))));
    EXPECT_EQ(a.values, (std::vector<double>{-128, 5}));
  }
  {
    const std::vector<std::uint8_t> v = {1, 0, 1};
    const auto a = read_npy(write_file(dir, "b1.npy", npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", raw(v))));
    EXPECT_EQ(a.values, (std::vector<double>{1, 0, 1}));
  }
  {
    const std::vector<std::int64_t> v = {-5000000000LL, 42};
    const std::vector<std::uint64_t> u = {1ULL << 40, 3};
    const std::vector<std::uint32_t> u4 = {4000000000u};
    const std::vector<std::uint16_t> u2 = {65535};
    EXPECT_EQ(read_npy(write_file(dir, "i8.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", raw(v)))).values,
              (std::vector<double>{-5e9, 42}));
    EXPECT_EQ(read_npy(write_file(dir, "u8.npy", npy_bytes("{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", raw(u)))).values,
              (std::vector<double>{1099511627776.0, 3}));
    EXPECT_EQ(read_npy(write_file(dir, "u4.npy", npy_bytes("{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", raw(u4)))).values,
              (std::vector<double>{4e9}));
    EXPECT_EQ(read_npy(write_file(dir, "u2.npy", npy_bytes("{'descr': '<u2', 'fortran_order': False, 'shape': (1, 1), }", raw(u2)))).values,
              (std::vector<double>{65535}));
  }
  {  // key order and quoting as other writers produce them; a 0-d array
    const std::vector<double> v = {2.5};
    const auto a = read_npy(write_file(dir, "s.npy", npy_bytes("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f8\"}", raw(v))));
    EXPECT_TRUE(a.shape.empty());
    EXPECT_EQ(a.values, (std::vector<double>{2.5}));
  }
  {  // empty array
    const auto a = read_npy(write_file(dir, "e.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 17), }", {})));
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{0, 17}));
    EXPECT_EQ(a.size(), 0u);
  }
}

TEST(Npy, TruncatedDataIsAnInputErrorNamingTheFile) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  auto bytes = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (20, 17), }", raw(std::vector<double>(20 * 17, 1.0)));
  bytes.resize(bytes.size() - 9);
  const fs::path f = write_file(dir, "short.npy", bytes);
  const std::string msg = error_of(f);
  EXPECT_NE(msg.find("short.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;

  // truncated inside the header
  auto head = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", raw(std::vector<double>{1, 2}));
  head.resize(30);
  const std::string msg2 = error_of(write_file(dir, "short_header.npy", head));
  EXPECT_NE(msg2.find("short_header.npy"), std::string::npos) << msg2;
}

TEST(Npy, RejectsWhatItCannotRead) {
  const fs::path dir = jnerf::test::scratch_dir("npy");
  const auto d8 = raw(std::vector<double>{1, 2});
  const std::vector<std::pair<std::string, std::vector<unsigned char>>> cases = {
      {"big_endian.npy", npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", d8)},
      {"complex.npy", npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", d8)},
      {"structured.npy", npy_bytes("{'descr': [('a', '<f4'), ('b', '<f4')], 'fortran_order': False, 'shape': (1,), }", d8)},
      {"bad_order.npy", npy_bytes("{'descr': '<f8', 'fortran_order': maybe, 'shape': (2,), }", d8)},
      {"bad_shape.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", d8)},
      {"version9.npy", [&] { auto b = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d8); b[6] = 9; return b; }()},
      {"magic.npy", std::vector<unsigned char>{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}},
      {"empty.npy", {}},
  };
  for (const auto& [name, bytes] : cases) {
    const std::string msg = error_of(write_file(dir, name, bytes));
    EXPECT_NE(msg.find(name), std::string::npos) << name << ": '" << msg << "'";
  }
  const std::string missing = error_of(dir / "absent.npy");
  EXPECT_NE(missing.find("absent.npy"), std::string::npos) << missing;
}

// Optional cross-check against NumPy when the system Python has it (nothing is installed).
TEST(Npy, MatchesNumpyWhenAvailable) {
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 has no numpy; cross-check skipped";
  const fs::path dir = jnerf::test::scratch_dir("npy");
  const fs::path f = dir / "np.npy";
  const std::string cmd = "/usr/bin/python3 -c \"import numpy as np; a = np.arange(24, dtype=np.float32).reshape(2,3,4) * 0.5 - 3; "
                          "np.save('" + f.string() + "', np.asfortranarray(a))\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  const auto a = read_npy(f);
  ASSERT_EQ(a.shape, (std::vector<std::size_t>{2, 3, 4}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(a.values[i], i * 0.5 - 3) << i;
}
