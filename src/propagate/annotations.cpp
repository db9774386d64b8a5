#include "jnerf/propagate/annotations.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fstream>
#include <map>
#include <stdexcept>
#include <set>
#include <string>
#include <utility>

#include "jnerf/core/error.hpp"

namespace jnerf {
namespace {

constexpr const char* kFormat = "jnerf-annotations";
constexpr int kVersion = 1;

bool known_mode(const std::string& m) { return m == "sparse" || m == "regions" || m == "dense"; }
bool known_kind(const std::string& k) { return k == "semantic" || k == "instance"; }

// The pixels (row-major indices) of each clickable class, classes in increasing id.
std::map<int, std::vector<std::size_t>> pixels_by_class(const std::vector<int>& labels, int void_label) {
  std::map<int, std::vector<std::size_t>> out;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0 && labels[i] != void_label) out[labels[i]].push_back(i);
  return out;
}

// k distinct pixels drawn uniformly from `pixels` (a partial Fisher-Yates shuffle), in
// row-major order; all of them when there are no more than k.
std::vector<std::size_t> draw_without_replacement(std::vector<std::size_t> pixels, std::size_t k,
                                                  std::mt19937_64& rng) {
  if (pixels.size() > k) {
    for (std::size_t i = 0; i < k; ++i) {
      const std::size_t j = i + static_cast<std::size_t>(uniform_below(rng, pixels.size() - i));
      std::swap(pixels[i], pixels[j]);
    }
    pixels.resize(k);
    std::sort(pixels.begin(), pixels.end());
  }
  return pixels;
}

// A growing binary mask with the bounding box of its set pixels, so that a dilation only
// visits the box (grown by the kernel radius) rather than the whole image.
class GrowingMask {
 public:
  GrowingMask(int width, int height)
      : w_(width), h_(height), on_(static_cast<std::size_t>(width) * height, 0), rows_(on_.size(), 0) {}

  bool at(std::size_t i) const { return on_[i] != 0; }

  void set(std::size_t i) {
    on_[i] = 1;
    const int x = static_cast<int>(i % w_), y = static_cast<int>(i / w_);
    if (empty_) {
      x0_ = x1_ = x, y0_ = y1_ = y, empty_ = false;
    } else {
      x0_ = std::min(x0_, x), x1_ = std::max(x1_, x), y0_ = std::min(y0_, y), y1_ = std::max(y1_, y);
    }
  }

  // Dilation by a (2r+1) x (2r+1) square; pixels beyond the image add nothing.
  void dilate(int r) {
    if (empty_) return;
    const int nx0 = std::max(0, x0_ - r), nx1 = std::min(w_ - 1, x1_ + r);
    const int ny0 = std::max(0, y0_ - r), ny1 = std::min(h_ - 1, y1_ + r);
    // Along rows, over the rows that hold set pixels.
    for (int y = y0_; y <= y1_; ++y)
      for (int x = nx0; x <= nx1; ++x) {
        std::uint8_t v = 0;
        for (int u = std::max(x0_, x - r); u <= std::min(x1_, x + r) && !v; ++u) v = on_[index(u, y)];
        rows_[index(x, y)] = v;
      }
    // Along columns of that result (whose rows outside y0_..y1_ are empty).
    for (int y = ny0; y <= ny1; ++y)
      for (int x = nx0; x <= nx1; ++x) {
        std::uint8_t v = 0;
        for (int t = std::max(y0_, y - r); t <= std::min(y1_, y + r) && !v; ++t) v = rows_[index(x, t)];
        on_[index(x, y)] = v;
      }
    x0_ = nx0, x1_ = nx1, y0_ = ny0, y1_ = ny1;
  }

 private:
  std::size_t index(int x, int y) const { return static_cast<std::size_t>(y) * w_ + x; }

  int w_, h_;
  std::vector<std::uint8_t> on_, rows_;
  bool empty_ = true;
  int x0_ = 0, x1_ = 0, y0_ = 0, y1_ = 0;
};

// The seed-region clicks of one class (see the header): grow 5x5 dilations from a random
// seed until floor(fraction * n) class pixels are covered, reseeding among the uncovered
// class pixels whenever a dilation covers nothing new.
std::vector<std::size_t> grow_region(const std::vector<std::size_t>& pixels, double fraction, int width,
                                     int height, std::mt19937_64& rng) {
  GrowingMask mask(width, height);
  mask.set(pixels[uniform_below(rng, pixels.size())]);
  const auto covered_count = [&] {
    std::size_t n = 0;
    for (std::size_t p : pixels) n += mask.at(p);
    return n;
  };
  const auto target = static_cast<std::size_t>(std::floor(fraction * static_cast<double>(pixels.size())));
  std::size_t covered = 1;
  while (covered < target) {
    const std::size_t before = covered;
    mask.dilate(2);
    covered = covered_count();
    if (covered == before) {
      std::vector<std::size_t> uncovered;
      for (std::size_t p : pixels)
        if (!mask.at(p)) uncovered.push_back(p);
      mask.set(uncovered[uniform_below(rng, uncovered.size())]);
    }
  }
  std::vector<std::size_t> out;
  for (std::size_t p : pixels)
    if (mask.at(p)) out.push_back(p);
  return out;
}

// ---- reading -----------------------------------------------------------------

struct Reader {
  const Json& json;
  std::string origin;

  [[noreturn]] void fail(const std::string& problem) const {
    throw InputError("annotations " + origin + ": " + problem);
  }

  const Json& need(const char* key) const {
    if (!json.contains(key)) fail(std::string("missing key '") + key + "'");
    return json[key];
  }

  // An integer in lo..hi; `what` names it in messages.
  static bool as_int(const Json& v, long long lo, long long hi, long long& out) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(LLONG_MAX)) return false;
      out = static_cast<long long>(u);
    } else if (v.is_number_integer()) {
      out = v.get<long long>();
    } else {
      return false;
    }
    return out >= lo && out <= hi;
  }

  int integer(const char* key, long long lo, const char* rule) const {
    const Json& v = need(key);
    long long out = 0;
    if (!as_int(v, lo, INT_MAX, out)) fail(std::string("'") + key + "' must be an integer " + rule + ", got " + v.dump());
    return static_cast<int>(out);
  }

  std::string text(const char* key) const {
    const Json& v = need(key);
    if (!v.is_string()) fail(std::string("'") + key + "' must be a string, got " + v.dump());
    return v.get<std::string>();
  }
};

}  // namespace

std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("uniform_below: empty range");
  // Values below 2^64 mod n would make the low residues more likely; draw again.
  const std::uint64_t reject_below = (0 - n) % n;
  std::uint64_t r = engine();
  while (r < reject_below) r = engine();
  return r % n;
}

std::vector<int> Annotation::classes() const {
  std::vector<int> out;
  out.reserve(clicks.size());
  for (const Click& c : clicks) out.push_back(c.label);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Annotation simulate_annotation(const std::vector<int>& labels, int width, int height, int frame_id,
                               const AnnotationSettings& settings) {
  const std::string where = "simulated annotations of frame " + std::to_string(frame_id) + ": ";
  if (width < 1 || height < 1)
    throw InputError(where + "image size must be positive, got " + std::to_string(width) + "x" +
                     std::to_string(height));
  if (labels.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw InputError(where + "label map has " + std::to_string(labels.size()) + " pixels, expected " +
                     std::to_string(width) + "x" + std::to_string(height));
  if (frame_id < 0) throw InputError(where + "frame id must be >= 0");
  if (!known_mode(settings.mode))
    throw InputError(where + "unknown mode '" + settings.mode + "' (expected sparse, regions or dense)");
  if (!known_kind(settings.labels_kind))
    throw InputError(where + "unknown label kind '" + settings.labels_kind + "' (expected semantic or instance)");
  if (settings.mode == "sparse" && settings.clicks_per_class < 1)
    throw InputError(where + "clicks per class must be >= 1, got " + std::to_string(settings.clicks_per_class));
  if (settings.mode == "regions" && !(settings.fraction > 0 && settings.fraction <= 1))
    throw InputError(where + "region fraction must be in (0, 1], got " + std::to_string(settings.fraction));

  Annotation a;
  a.frame_id = frame_id;
  a.width = width;
  a.height = height;
  a.labels_kind = settings.labels_kind;
  a.mode = settings.mode;
  a.fraction = settings.mode == "regions" ? settings.fraction : 0.0;
  a.seed = settings.seed;

  const auto classes = pixels_by_class(labels, settings.void_label);
  if (classes.empty()) throw InputError(where + "the label map has no non-void pixel to annotate");
  std::mt19937_64 rng(settings.seed);
  for (const auto& [label, pixels] : classes) {
    std::vector<std::size_t> chosen;
    if (settings.mode == "sparse")
      chosen = draw_without_replacement(pixels, static_cast<std::size_t>(settings.clicks_per_class), rng);
    else if (settings.mode == "regions")
      chosen = grow_region(pixels, settings.fraction, width, height, rng);
    else
      chosen = pixels;
    for (std::size_t p : chosen)
      a.clicks.push_back({static_cast<int>(p % width), static_cast<int>(p / width), label});
  }
  return a;
}

Json annotation_to_json(const Annotation& a) {
  Json j = Json::object();
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["frame_id"] = a.frame_id;
  j["width"] = a.width;
  j["height"] = a.height;
  j["labels"] = a.labels_kind;
  j["mode"] = a.mode;
  if (a.mode == "regions") j["fraction"] = a.fraction;
  j["seed"] = a.seed;
  Json clicks = Json::array();
  for (const Click& c : a.clicks) clicks.push_back(Json::array({c.x, c.y, c.label}));
  j["clicks"] = clicks;
  return j;
}

Annotation annotation_from_json(const Json& json, const std::string& origin) {
  const Reader r{json, origin};
  if (!json.is_object()) r.fail("expected a JSON object, got " + std::string(json.type_name()));
  static const std::set<std::string> allowed = {"format", "version", "frame_id", "width", "height",
                                                "labels", "mode",    "fraction", "seed",  "clicks"};
  for (const auto& item : json.items())
    if (!allowed.count(item.key())) r.fail("unknown key '" + item.key() + "'");

  if (const Json& f = r.need("format"); !f.is_string() || f.get<std::string>() != kFormat)
    r.fail("'format' must be \"" + std::string(kFormat) + "\", got " + f.dump());
  if (const Json& v = r.need("version"); !v.is_number_integer() || v.get<long long>() != kVersion)
    r.fail("unsupported 'version' " + v.dump() + " (this build reads version " + std::to_string(kVersion) + ")");

  Annotation a;
  a.frame_id = r.integer("frame_id", 0, ">= 0");
  a.width = r.integer("width", 1, ">= 1");
  a.height = r.integer("height", 1, ">= 1");
  a.labels_kind = r.text("labels");
  if (!known_kind(a.labels_kind))
    r.fail("'labels' must be \"semantic\" or \"instance\", got \"" + a.labels_kind + "\"");
  a.mode = r.text("mode");
  if (!known_mode(a.mode)) r.fail("'mode' must be \"sparse\", \"regions\" or \"dense\", got \"" + a.mode + "\"");
  if (a.mode == "regions") {
    const Json& f = r.need("fraction");
    if (!f.is_number() || !(f.get<double>() > 0 && f.get<double>() <= 1))
      r.fail("'fraction' must be a number in (0, 1], got " + f.dump());
    a.fraction = f.get<double>();
  } else if (json.contains("fraction")) {
    r.fail("'fraction' is only allowed with mode \"regions\" (mode is \"" + a.mode + "\")");
  }
  if (const Json& s = r.need("seed"); s.is_number_unsigned() || (s.is_number_integer() && s.get<long long>() >= 0))
    a.seed = s.get<std::uint64_t>();
  else
    r.fail("'seed' must be a non-negative integer, got " + s.dump());

  const Json& clicks = r.need("clicks");
  if (!clicks.is_array()) r.fail("'clicks' must be an array of [x, y, label], got " + std::string(clicks.type_name()));
  if (clicks.empty()) r.fail("'clicks' is empty: at least one click is needed");
  std::vector<std::pair<long long, std::size_t>> at;  // (pixel index, click index), to find repeats
  at.reserve(clicks.size());
  for (std::size_t i = 0; i < clicks.size(); ++i) {
    const Json& c = clicks[i];
    const std::string name = "click " + std::to_string(i);
    long long v[3] = {0, 0, 0};
    if (!c.is_array() || c.size() != 3 || !Reader::as_int(c[0], LLONG_MIN, LLONG_MAX, v[0]) ||
        !Reader::as_int(c[1], LLONG_MIN, LLONG_MAX, v[1]) || !Reader::as_int(c[2], LLONG_MIN, LLONG_MAX, v[2]))
      r.fail(name + " must be [x, y, label] with three integers, got " + c.dump());
    if (v[0] < 0 || v[0] >= a.width || v[1] < 0 || v[1] >= a.height)
      r.fail(name + " at (" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + ") lies outside the " +
             std::to_string(a.width) + "x" + std::to_string(a.height) + " image");
    if (v[2] < 0 || v[2] > INT_MAX) r.fail(name + " has label " + std::to_string(v[2]) + ", expected >= 0");
    a.clicks.push_back({static_cast<int>(v[0]), static_cast<int>(v[1]), static_cast<int>(v[2])});
    at.emplace_back(v[1] * a.width + v[0], i);
  }
  std::sort(at.begin(), at.end());
  for (std::size_t k = 1; k < at.size(); ++k)
    if (at[k].first == at[k - 1].first) {
      const Click& c = a.clicks[at[k].second];
      r.fail("clicks " + std::to_string(at[k - 1].second) + " and " + std::to_string(at[k].second) +
             " both annotate pixel (" + std::to_string(c.x) + ", " + std::to_string(c.y) + ")");
    }
  return a;
}

void save_annotation(const std::filesystem::path& file, const Annotation& annotation) {
  const Json j = annotation_to_json(annotation);
  annotation_from_json(j, file.string() + " (being written)");  // never write what cannot be read back
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file);
  if (!out) throw std::runtime_error("cannot write " + file.string());
  // The header keys one per line in the documented order, then one click per line.
  out << "{\n";
  for (const char* key : {"format", "version", "frame_id", "width", "height", "labels", "mode", "fraction", "seed"})
    if (j.contains(key)) out << "  \"" << key << "\": " << j[key].dump() << ",\n";
  out << "  \"clicks\": [\n";
  const Json& clicks = j["clicks"];
  for (std::size_t i = 0; i < clicks.size(); ++i)
    out << "    " << clicks[i].dump() << (i + 1 < clicks.size() ? ",\n" : "\n");
  out << "  ]\n}\n";
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

Annotation load_annotation(const std::filesystem::path& file) {
  return annotation_from_json(read_json_file(file), file.string());
}

}  // namespace jnerf
