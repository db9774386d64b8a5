#include "renderer.hpp"

#include <algorithm>
#include <cmath>

#include "geometry.hpp"
#include "rng.hpp"
#include "texture.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace jnerf::synth {

namespace {

// Ordered 2x2 grid of sub-pixel offsets (in pixels) for the colour samples.
constexpr float kSub[4][2] = {{-0.25f, -0.25f}, {0.25f, -0.25f}, {-0.25f, 0.25f}, {0.25f, 0.25f}};
constexpr float kShadowEps = 1e-3f;
constexpr float kFalloff2 = 6.25f;  // light falls to half at 2.5 m

V3 to_v3(const float* a) { return {a[0], a[1], a[2]}; }

// Radiance (linear RGB) of the surface a camera ray hits. Sub-sample k of a pixel uses
// light stratum (k + r) mod 4 of the 2x2 strata of each area light (r: a per-pixel hash),
// so the four colour samples of a pixel together see four light positions: soft shadows.
V3 shade(const Scene& scene, const TraceRay& ray, const Hit& hit, std::uint64_t pixel_key, int k) {
  const Part& part = scene.parts[static_cast<std::size_t>(hit.part)];
  const Material& mat = scene.materials[static_cast<std::size_t>(part.material)];
  const V3 p = ray.o + ray.d * hit.t;
  const SurfacePoint sp = surface_at(part, p);
  const V3 a = albedo(mat, sp.local, sp.local_normal);
  V3 n = sp.normal;
  if (dot(n, ray.d) > 0.f) n = -n;
  const V3 origin = p + n * kShadowEps;

  float e = scene.ambient;
  for (std::size_t li = 0; li < scene.lights.size(); ++li) {
    const Light& light = scene.lights[li];
    const std::uint64_t h = hash_keys(pixel_key, li);
    const int stratum = (k + static_cast<int>(h & 3u)) & 3;
    const float su = (static_cast<float>(stratum & 1) + unit_float(mix64(h))) * 0.5f - 0.5f;
    const float sv = (static_cast<float>(stratum >> 1) + unit_float(mix64(h + 1))) * 0.5f - 0.5f;
    const V3 q = light.centre + light.edge_u * su + light.edge_v * sv;
    const V3 l = q - origin;
    const float dist2 = dot(l, l);
    const float inv_dist = 1.f / std::sqrt(dist2);
    const float cos_s = dot(n, l) * inv_dist;
    if (cos_s <= 0.f) continue;
    const float cos_e = std::fmax(0.f, -dot(l, light.facing) * inv_dist);
    if (light.shadows && trace_occluded(scene, TraceRay(origin, l), 0.f, 1.f - 1e-4f)) continue;
    e += light.intensity * cos_s * (0.35f + 0.65f * cos_e) / (1.f + dist2 / kFalloff2);
  }
  return a * (e + mat.emission);
}

std::uint8_t encode(float linear) {
  // Gamma 2.2, the inverse of texture.cpp's srgb().
  const float c = std::pow(std::fmin(1.f, std::fmax(0.f, linear)), 1.f / 2.2f);
  return static_cast<std::uint8_t>(std::lround(c * 255.f));
}

}  // namespace

PinholeCamera make_camera(const RenderSettings& s, const Pose& pose) {
  PinholeCamera cam{};
  cam.fx = s.fx;
  cam.fy = s.fy;
  cam.cx = s.cx;
  cam.cy = s.cy;
  for (int i = 0; i < 12; ++i) cam.c2w[i] = pose[static_cast<std::size_t>(i)];
  return cam;
}

FrameImages render_frame(const Scene& scene, const RenderSettings& s, const Pose& pose, int frame) {
  const int w = s.width, h = s.height;
  FrameImages out;
  out.rgb = ImageU8(w, h, 3);
  out.depth = ImageU16(w, h, 1);
  out.semantic = ImageU8(w, h, 1);
  out.instance = ImageU16(w, h, 1);
  const PinholeCamera cam = make_camera(s, pose);
  const std::uint64_t frame_key = hash_keys(s.seed, hash_name("synth/pixels"), static_cast<std::uint64_t>(frame));

  int threads = s.threads;
#ifdef _OPENMP
  if (threads <= 0) threads = omp_get_max_threads();
#endif
  (void)threads;

#pragma omp parallel for schedule(dynamic, 2) num_threads(threads) if (threads > 1)
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const std::uint64_t pixel_key = hash_keys(frame_key, static_cast<std::uint64_t>(y) * static_cast<std::uint64_t>(w) + x);
      // Pixel centre: depth and labels.
      const Ray centre = camera_ray(cam, static_cast<float>(x), static_cast<float>(y));
      const TraceRay cr(to_v3(centre.origin), to_v3(centre.direction));
      const Hit ch = trace_closest(scene, cr, 1e-4f, kNoHit);
      if (ch.part >= 0) {
        const Object& obj = scene.objects[static_cast<std::size_t>(scene.parts[static_cast<std::size_t>(ch.part)].object)];
        out.semantic.at(x, y) = static_cast<std::uint8_t>(obj.class_id);
        out.instance.at(x, y) = static_cast<std::uint16_t>(obj.instance_id);
        if (ch.t >= s.near && ch.t <= s.far)
          out.depth.at(x, y) = static_cast<std::uint16_t>(std::min(65535L, std::lround(ch.t * s.depth_scale)));
      }
      // Colour: 2x2 ordered grid.
      V3 sum{0.f, 0.f, 0.f};
      for (int k = 0; k < 4; ++k) {
        const Ray r = camera_ray(cam, static_cast<float>(x) + kSub[k][0], static_cast<float>(y) + kSub[k][1]);
        const TraceRay tr(to_v3(r.origin), to_v3(r.direction));
        const Hit hit = trace_closest(scene, tr, 1e-4f, kNoHit);
        if (hit.part >= 0) sum += shade(scene, tr, hit, pixel_key, k);
      }
      sum *= 0.25f;
      out.rgb.at(x, y, 0) = encode(sum.x);
      out.rgb.at(x, y, 1) = encode(sum.y);
      out.rgb.at(x, y, 2) = encode(sum.z);
    }
  }
  return out;
}

}  // namespace jnerf::synth
