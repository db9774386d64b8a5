#pragma once
// Counter-based hashing RNG: every random number is a pure function of (seed, keys), so
// results never depend on evaluation order or thread scheduling.
#include <cstdint>

namespace jnerf::synth {

// SplitMix64 finaliser: a bijective 64-bit mixer.
constexpr std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr std::uint64_t hash_keys(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0,
                                  std::uint64_t c = 0, std::uint64_t d = 0) {
  std::uint64_t h = mix64(seed ^ 0x6a09e667f3bcc909ull);
  h = mix64(h ^ a);
  h = mix64(h ^ (b + 0x3c6ef372fe94f82bull));
  h = mix64(h ^ (c + 0xa54ff53a5f1d36f1ull));
  return mix64(h ^ (d + 0x510e527fade682d1ull));
}

// Uniform float in [0, 1) from the top 24 bits.
constexpr float unit_float(std::uint64_t h) { return static_cast<float>(h >> 40) * (1.0f / 16777216.0f); }

// FNV-1a of a string, to key streams by name ("camera", "room0/materials", ...).
constexpr std::uint64_t hash_name(const char* s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  while (*s) h = (h ^ static_cast<unsigned char>(*s++)) * 0x100000001b3ull;
  return h;
}

// A sequential stream for serial work (scene building): draw k is hash(seed, stream, k).
class Stream {
 public:
  Stream(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {}
  float uniform() { return unit_float(hash_keys(seed_, stream_, counter_++)); }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Symmetric jitter in [-a, a].
  float jitter(float a) { return uniform(-a, a); }
  std::uint64_t bits() { return hash_keys(seed_, stream_, counter_++); }

 private:
  std::uint64_t seed_, stream_, counter_ = 0;
};

}  // namespace jnerf::synth
