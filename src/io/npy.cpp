// NumPy .npy reader: format versions 1.0 / 2.0 / 3.0, little-endian numeric dtypes.
#include "jnerf/io/npy.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

struct Header {
  std::string descr;
  bool fortran = false;
  std::vector<std::size_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::filesystem::path& file) : s_(text), file_(file) {}

  Header parse() {
    Header h;
    bool has_descr = false, has_order = false, has_shape = false;
    skip();
    expect('{');
    for (;;) {
      skip();
      if (peek() == '}') break;
      const std::string key = quoted();
      skip();
      expect(':');
      skip();
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') fail("only simple dtypes are supported ('descr' is not a string)");
        h.descr = quoted();
        has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran = boolean();
        has_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the header");
      }
      skip();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip();
      if (peek() != '}') fail("expected ',' or '}' in the header");
    }
    if (!has_descr || !has_order || !has_shape) fail("the header lacks 'descr', 'fortran_order' or 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw InputError("cannot read npy file " + file_.string() + ": " + why + " (header: " + s_ + ")");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "' in the header");
    ++i_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string in the header");
    ++i_;
    const std::size_t end = s_.find(q, i_);
    if (end == std::string::npos) fail("unterminated string in the header");
    std::string out = s_.substr(i_, end - i_);
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> out;
    expect('(');
    for (;;) {
      skip();
      if (peek() == ')') {
        ++i_;
        break;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("'shape' must be a tuple of non-negative integers");
      std::size_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const std::size_t d = static_cast<std::size_t>(peek() - '0');
        if (v > (std::numeric_limits<std::size_t>::max() - d) / 10) fail("'shape' entry too large");
        v = v * 10 + d;
        ++i_;
      }
      skip();
      if (peek() == 'L') ++i_;  // Python 2 longs
      out.push_back(v);
      skip();
      if (peek() == ',') {
        ++i_;
      } else if (peek() != ')') {
        fail("'shape' must be a tuple of non-negative integers");
      }
    }
    return out;
  }

  const std::string& s_;
  const std::filesystem::path& file_;
  std::size_t i_ = 0;
};

double half_to_double(std::uint16_t h) {
  const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(static_cast<double>(mant), -24);  // subnormal (or zero)
  else if (exp == 31)
    v = mant ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else
    v = std::ldexp(static_cast<double>(mant | 0x400), exp - 25);
  return sign ? -v : v;
}

template <class T>
T load_le(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // the host is little-endian (checked below)
  return v;
}

bool host_little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

}  // namespace

NpyArray read_npy(const std::filesystem::path& file) {
  const std::string name = file.string();
  if (!std::filesystem::is_regular_file(file)) throw InputError("npy file not found: " + name);
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("cannot open npy file " + name);
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto fail = [&](const std::string& why) { return InputError("cannot read npy file " + name + ": " + why); };

  static const unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) throw fail("not a .npy file (bad magic)");
  const int major = bytes[6], minor = bytes[7];
  std::size_t header_len = 0, data_start = 0;
  if (major == 1) {
    header_len = bytes[8] | (bytes[9] << 8);
    data_start = 10 + header_len;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw fail("truncated header");
    header_len = static_cast<std::size_t>(bytes[8]) | (static_cast<std::size_t>(bytes[9]) << 8) |
                 (static_cast<std::size_t>(bytes[10]) << 16) | (static_cast<std::size_t>(bytes[11]) << 24);
    data_start = 12 + header_len;
  } else {
    throw fail("unsupported format version " + std::to_string(major) + "." + std::to_string(minor));
  }
  if (data_start > bytes.size()) throw fail("truncated header");
  const std::string header_text(bytes.begin() + (data_start - header_len), bytes.begin() + data_start);
  const Header h = HeaderParser(header_text, file).parse();

  // dtype
  if (h.descr.size() < 3) throw fail("unsupported dtype '" + h.descr + "'");
  const char order = h.descr[0], kind = h.descr[1];
  const std::string size_text = h.descr.substr(2);
  if (size_text.find_first_not_of("0123456789") != std::string::npos) throw fail("unsupported dtype '" + h.descr + "'");
  const int item = std::stoi(size_text);
  const bool valid_kind = (kind == 'f' && (item == 2 || item == 4 || item == 8)) ||
                          ((kind == 'i' || kind == 'u') && (item == 1 || item == 2 || item == 4 || item == 8)) ||
                          (kind == 'b' && item == 1);
  if (!valid_kind) throw fail("unsupported dtype '" + h.descr + "' (float16/32/64, int/uint 8-64 or bool only)");
  const bool le_ok = order == '<' || order == '|' || (order == '=' && host_little_endian());
  if (!le_ok) {
    if (order == '>' && item > 1) throw fail("big-endian dtype '" + h.descr + "' is not supported");
    if (order != '>') throw fail("unsupported dtype '" + h.descr + "'");
  }
  if (!host_little_endian()) throw fail("this reader needs a little-endian host");

  std::size_t count = 1;
  for (std::size_t d : h.shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d / 8) throw fail("shape too large");
    count *= d;
  }
  const std::size_t need = count * static_cast<std::size_t>(item);
  const std::size_t have = bytes.size() - data_start;
  if (have < need)
    throw fail("truncated data: expected " + std::to_string(need) + " bytes, found " + std::to_string(have));

  NpyArray out;
  out.shape = h.shape;
  out.dtype = h.descr;
  out.values.resize(count);
  const unsigned char* p = bytes.data() + data_start;
  for (std::size_t i = 0; i < count; ++i, p += item) {
    double v = 0;
    switch (kind) {
      case 'f':
        v = item == 2 ? half_to_double(load_le<std::uint16_t>(p))
            : item == 4 ? static_cast<double>(load_le<float>(p))
                        : load_le<double>(p);
        break;
      case 'i':
        v = item == 1 ? load_le<std::int8_t>(p)
            : item == 2 ? load_le<std::int16_t>(p)
            : item == 4 ? load_le<std::int32_t>(p)
                        : static_cast<double>(load_le<std::int64_t>(p));
        break;
      case 'u':
        v = item == 1 ? load_le<std::uint8_t>(p)
            : item == 2 ? load_le<std::uint16_t>(p)
            : item == 4 ? load_le<std::uint32_t>(p)
                        : static_cast<double>(load_le<std::uint64_t>(p));
        break;
      case 'b':
        v = *p ? 1.0 : 0.0;
        break;
    }
    out.values[i] = v;
  }

  // Fortran order: element (i0, ..., in-1) sits at sum_k i_k prod_{j<k} shape_j.
  if (h.fortran && h.shape.size() > 1 && count > 1) {
    std::vector<double> c_order(count);
    const std::size_t nd = h.shape.size();
    std::vector<std::size_t> idx(nd, 0);
    for (std::size_t f = 0; f < count; ++f) {
      // idx is the multi-index of Fortran position f (first axis fastest)
      std::size_t c = 0;
      for (std::size_t k = 0; k < nd; ++k) c = c * h.shape[k] + idx[k];
      c_order[c] = out.values[f];
      for (std::size_t k = 0; k < nd; ++k) {
        if (++idx[k] < h.shape[k]) break;
        idx[k] = 0;
      }
    }
    out.values.swap(c_order);
  }
  return out;
}

}  // namespace jnerf
