#include "geometry.hpp"

#include <algorithm>
#include <cmath>

namespace jnerf::synth {

TraceRay::TraceRay(V3 origin, V3 direction) : o(origin), d(direction) {
  inv_d = {1.f / d.x, 1.f / d.y, 1.f / d.z};
}

namespace {

// Plain compare-and-select min/max: inlined (std::fmin/fmax are library calls here). A NaN
// (0 * inf: origin exactly on a slab plane, direction parallel to it) is dropped.
inline float mn(float a, float b) { return a < b ? a : b; }
inline float mx(float a, float b) { return a > b ? a : b; }

// Slab test against [lo, hi]; returns false when missed.
inline bool slab(V3 o, V3 inv_d, V3 lo, V3 hi, float& t_near, float& t_far) {
  const float x1 = (lo.x - o.x) * inv_d.x, x2 = (hi.x - o.x) * inv_d.x;
  const float y1 = (lo.y - o.y) * inv_d.y, y2 = (hi.y - o.y) * inv_d.y;
  const float z1 = (lo.z - o.z) * inv_d.z, z2 = (hi.z - o.z) * inv_d.z;
  float tn = mn(x1, x2), tf = mx(x1, x2);
  const float yn = mn(y1, y2), yf = mx(y1, y2), zn = mn(z1, z2), zf = mx(z1, z2);
  tn = yn > tn ? yn : tn;
  tn = zn > tn ? zn : tn;
  tf = yf < tf ? yf : tf;
  tf = zf < tf ? zf : tf;
  t_near = tn;
  t_far = tf;
  return tn <= tf;
}

float intersect_box(const Part& p, const TraceRay& ray, float t_min, float t_max) {
  // Into the box's frame: rotate by -yaw.
  const V3 o = rot_z(ray.o - p.centre, p.cos_a, -p.sin_a);
  const V3 d = rot_z(ray.d, p.cos_a, -p.sin_a);
  const V3 inv = (p.sin_a == 0.f) ? ray.inv_d : V3{1.f / d.x, 1.f / d.y, 1.f / d.z};
  float tn, tf;
  if (!slab(o, inv, -p.half, p.half, tn, tf)) return kNoHit;
  // Solid boxes are hit where the ray enters them.
  return (tn > t_min && tn < t_max) ? tn : kNoHit;
}

float intersect_sphere(const Part& p, const TraceRay& ray, float t_min, float t_max) {
  const V3 oc = ray.o - p.centre;
  const float a = dot(ray.d, ray.d);
  const float b = dot(oc, ray.d);
  const float c = dot(oc, oc) - p.half.x * p.half.x;
  const float disc = b * b - a * c;
  if (disc < 0.f) return kNoHit;
  const float t = (-b - std::sqrt(disc)) / a;
  return (t > t_min && t < t_max) ? t : kNoHit;
}

float intersect_cylinder(const Part& p, const TraceRay& ray, float t_min, float t_max) {
  const V3 oc = ray.o - p.centre;
  const float r = p.half.x, hz = p.half.z;
  float best = kNoHit;
  const float a = ray.d.x * ray.d.x + ray.d.y * ray.d.y;
  if (a > 0.f) {
    const float b = oc.x * ray.d.x + oc.y * ray.d.y;
    const float c = oc.x * oc.x + oc.y * oc.y - r * r;
    const float disc = b * b - a * c;
    if (disc >= 0.f) {
      const float t = (-b - std::sqrt(disc)) / a;
      const float z = oc.z + t * ray.d.z;
      if (t > t_min && t < t_max && z >= -hz && z <= hz) best = t;
    }
  }
  if (ray.d.z != 0.f) {
    // The cap facing the ray origin.
    const float cap = ray.d.z < 0.f ? hz : -hz;
    if ((ray.d.z < 0.f && oc.z > hz) || (ray.d.z > 0.f && oc.z < -hz)) {
      const float t = (cap - oc.z) / ray.d.z;
      const float x = oc.x + t * ray.d.x, y = oc.y + t * ray.d.y;
      if (t > t_min && t < mn(best, t_max) && x * x + y * y <= r * r) best = t;
    }
  }
  return best;
}

float intersect_plane(const Part& p, const TraceRay& ray, float t_min, float t_max) {
  const float denom = dot(p.normal, ray.d);
  if (denom >= 0.f) return kNoHit;  // one-sided: seen from the normal side only
  const float t = dot(p.normal, p.centre - ray.o) / denom;
  return (t > t_min && t < t_max) ? t : kNoHit;
}

}  // namespace

float intersect(const Part& part, const TraceRay& ray, float t_min, float t_max) {
  switch (part.shape) {
    case Shape::Box: return intersect_box(part, ray, t_min, t_max);
    case Shape::Sphere: return intersect_sphere(part, ray, t_min, t_max);
    case Shape::Cylinder: return intersect_cylinder(part, ray, t_min, t_max);
    case Shape::Plane: return intersect_plane(part, ray, t_min, t_max);
  }
  return kNoHit;
}

SurfacePoint surface_at(const Part& part, V3 p) {
  SurfacePoint s;
  switch (part.shape) {
    case Shape::Box: {
      const V3 l = rot_z(p - part.centre, part.cos_a, -part.sin_a);
      int axis = 0;
      float best = -1.f;
      for (int a = 0; a < 3; ++a) {
        const float f = std::fabs(l[a]) / part.half[a];
        if (f > best) { best = f; axis = a; }
      }
      V3 nl{0.f, 0.f, 0.f};
      const float sign = l[axis] >= 0.f ? 1.f : -1.f;
      if (axis == 0) nl.x = sign; else if (axis == 1) nl.y = sign; else nl.z = sign;
      s.local = l;
      s.local_normal = nl;
      s.normal = rot_z(nl, part.cos_a, part.sin_a);
      break;
    }
    case Shape::Sphere: {
      s.local = p - part.centre;
      s.local_normal = normalize(s.local);
      s.normal = s.local_normal;
      break;
    }
    case Shape::Cylinder: {
      const V3 l = p - part.centre;
      const float radial = std::sqrt(l.x * l.x + l.y * l.y);
      const bool cap = std::fabs(std::fabs(l.z) - part.half.z) < std::fabs(radial - part.half.x);
      s.local = l;
      s.local_normal = cap ? V3{0.f, 0.f, l.z >= 0.f ? 1.f : -1.f}
                           : (radial > 0.f ? V3{l.x / radial, l.y / radial, 0.f} : V3{1.f, 0.f, 0.f});
      s.normal = s.local_normal;
      break;
    }
    case Shape::Plane: {
      s.local = p;
      s.local_normal = part.normal;
      s.normal = part.normal;
      break;
    }
  }
  return s;
}

namespace {

constexpr int kStack = 64;

inline bool node_hit(const BvhNode& n, const TraceRay& ray, float t_min, float t_max, float& t_near) {
  float tn, tf;
  if (!slab(ray.o, ray.inv_d, n.lo, n.hi, tn, tf) || tf <= t_min || tn >= t_max) return false;
  t_near = tn;
  return true;
}

}  // namespace

Hit trace_closest(const Scene& scene, const TraceRay& ray, float t_min, float t_max) {
  Hit hit;
  float best = t_max;
  for (int k : scene.planes) {
    const float t = intersect(scene.parts[static_cast<std::size_t>(k)], ray, t_min, best);
    if (t < best) { best = t; hit.t = t; hit.part = k; }
  }
  if (scene.bvh.empty()) return hit;
  int stack[kStack];
  int top = 0;
  float tn;
  if (node_hit(scene.bvh[0], ray, t_min, best, tn)) stack[top++] = 0;
  while (top > 0) {
    const BvhNode& n = scene.bvh[static_cast<std::size_t>(stack[--top])];
    if (n.count > 0) {
      for (int i = n.first; i < n.first + n.count; ++i) {
        const int k = scene.bvh_parts[static_cast<std::size_t>(i)];
        const float t = intersect(scene.parts[static_cast<std::size_t>(k)], ray, t_min, best);
        if (t < best) { best = t; hit.t = t; hit.part = k; }
      }
      continue;
    }
    // Visit the nearer child first (pushed last).
    float ta, tb;
    const bool ha = node_hit(scene.bvh[static_cast<std::size_t>(n.first)], ray, t_min, best, ta);
    const bool hb = node_hit(scene.bvh[static_cast<std::size_t>(n.first + 1)], ray, t_min, best, tb);
    if (ha && hb) {
      if (ta <= tb) { stack[top++] = n.first + 1; stack[top++] = n.first; }
      else { stack[top++] = n.first; stack[top++] = n.first + 1; }
    } else if (ha) {
      stack[top++] = n.first;
    } else if (hb) {
      stack[top++] = n.first + 1;
    }
  }
  return hit;
}

bool trace_occluded(const Scene& scene, const TraceRay& ray, float t_min, float t_max) {
  for (int k : scene.planes)
    if (intersect(scene.parts[static_cast<std::size_t>(k)], ray, t_min, t_max) < kNoHit) return true;
  if (scene.bvh.empty()) return false;
  int stack[kStack];
  int top = 0;
  float tn;
  if (node_hit(scene.bvh[0], ray, t_min, t_max, tn)) stack[top++] = 0;
  while (top > 0) {
    const BvhNode& n = scene.bvh[static_cast<std::size_t>(stack[--top])];
    if (n.count > 0) {
      for (int i = n.first; i < n.first + n.count; ++i)
        if (intersect(scene.parts[static_cast<std::size_t>(scene.bvh_parts[static_cast<std::size_t>(i)])], ray, t_min,
                      t_max) < kNoHit)
          return true;
      continue;
    }
    for (int c = 0; c < 2; ++c)
      if (node_hit(scene.bvh[static_cast<std::size_t>(n.first + c)], ray, t_min, t_max, tn)) stack[top++] = n.first + c;
  }
  return false;
}

bool part_bounds(const Part& p, V3& lo, V3& hi) {
  V3 e;
  switch (p.shape) {
    case Shape::Box: {
      const float c = std::fabs(p.cos_a), s = std::fabs(p.sin_a);
      e = {c * p.half.x + s * p.half.y, s * p.half.x + c * p.half.y, p.half.z};
      break;
    }
    case Shape::Sphere: e = {p.half.x, p.half.x, p.half.x}; break;
    case Shape::Cylinder: e = {p.half.x, p.half.x, p.half.z}; break;
    case Shape::Plane: return false;
  }
  // A hair of padding so that rays grazing a face still reach the exact test.
  const V3 pad{1e-4f, 1e-4f, 1e-4f};
  lo = p.centre - e - pad;
  hi = p.centre + e + pad;
  return true;
}

namespace {

struct BuildItem {
  int part;
  V3 lo, hi, centre;
};

// Median split on the longest axis of the centroids; leaves of at most 2 parts.
void build_node(Scene& scene, std::vector<BuildItem>& items, int begin, int end, int node) {
  V3 lo{kNoHit, kNoHit, kNoHit}, hi = -lo, clo = lo, chi = hi;
  for (int i = begin; i < end; ++i) {
    lo = vmin(lo, items[static_cast<std::size_t>(i)].lo);
    hi = vmax(hi, items[static_cast<std::size_t>(i)].hi);
    clo = vmin(clo, items[static_cast<std::size_t>(i)].centre);
    chi = vmax(chi, items[static_cast<std::size_t>(i)].centre);
  }
  scene.bvh[static_cast<std::size_t>(node)].lo = lo;
  scene.bvh[static_cast<std::size_t>(node)].hi = hi;
  if (end - begin <= 2) {
    scene.bvh[static_cast<std::size_t>(node)].first = static_cast<int>(scene.bvh_parts.size());
    scene.bvh[static_cast<std::size_t>(node)].count = end - begin;
    for (int i = begin; i < end; ++i) scene.bvh_parts.push_back(items[static_cast<std::size_t>(i)].part);
    return;
  }
  const V3 ext = chi - clo;
  const int axis = ext.x >= ext.y && ext.x >= ext.z ? 0 : (ext.y >= ext.z ? 1 : 2);
  const int mid = (begin + end) / 2;
  std::nth_element(items.begin() + begin, items.begin() + mid, items.begin() + end,
                   [axis](const BuildItem& a, const BuildItem& b) {
                     if (a.centre[axis] != b.centre[axis]) return a.centre[axis] < b.centre[axis];
                     return a.part < b.part;  // total order: the same tree on every platform
                   });
  const int left = static_cast<int>(scene.bvh.size());
  scene.bvh.emplace_back();
  scene.bvh.emplace_back();
  scene.bvh[static_cast<std::size_t>(node)].first = left;
  scene.bvh[static_cast<std::size_t>(node)].count = 0;
  build_node(scene, items, begin, mid, left);
  build_node(scene, items, mid, end, left + 1);
}

}  // namespace

void build_acceleration(Scene& scene) {
  std::vector<BuildItem> items;
  scene.planes.clear();
  scene.bvh.clear();
  scene.bvh_parts.clear();
  for (std::size_t k = 0; k < scene.parts.size(); ++k) {
    BuildItem it;
    it.part = static_cast<int>(k);
    if (part_bounds(scene.parts[k], it.lo, it.hi)) {
      it.centre = (it.lo + it.hi) * 0.5f;
      items.push_back(it);
    } else {
      scene.planes.push_back(static_cast<int>(k));
    }
  }
  for (Object& obj : scene.objects) {
    obj.bounded = true;
    obj.lo = {kNoHit, kNoHit, kNoHit};
    obj.hi = -obj.lo;
    for (int k = obj.first_part; k < obj.first_part + obj.num_parts; ++k) {
      V3 lo, hi;
      if (!part_bounds(scene.parts[static_cast<std::size_t>(k)], lo, hi)) {
        obj.bounded = false;
        break;
      }
      obj.lo = vmin(obj.lo, lo);
      obj.hi = vmax(obj.hi, hi);
    }
  }
  if (items.empty()) return;
  scene.bvh.emplace_back();
  build_node(scene, items, 0, static_cast<int>(items.size()), 0);
}

}  // namespace jnerf::synth
