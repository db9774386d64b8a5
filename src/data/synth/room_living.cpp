// room0: a living room with a dining corner.
#include "furniture.hpp"
#include "presets.hpp"

namespace jnerf::synth {

namespace {
constexpr float kPi = 3.14159265358979f;
}  // namespace

Scene build_living_room(std::uint64_t seed) {
  SceneBuilder b("room0", seed);
  const V3 lo{-3.f, -2.5f, 0.f}, hi{3.f, 2.5f, 2.7f};

  // Materials. Several are shared across classes on purpose: the warm white paints the
  // walls, the ceiling and the tv cabinet; one wood makes the tables, the chairs and the
  // shelf; the sofa fabric also covers two of the cushions.
  const int white = b.material(plain(srgb(228, 222, 210)));
  const int accent = b.material(pattern(Pattern::Stripes, srgb(150, 172, 150), srgb(170, 190, 168), 0.16f, 0));
  const int planks = b.material(pattern(Pattern::Stripes, srgb(150, 105, 70), srgb(132, 92, 60), 0.19f, 1, 0.3f));
  const int wood = b.material(pattern(Pattern::Stripes, srgb(175, 128, 82), srgb(160, 114, 72), 0.05f, 0, 1.2f));
  const int fabric = b.material(pattern(Pattern::Noise, srgb(92, 108, 134), srgb(70, 84, 108), 0.05f));
  const int mustard = b.material(plain(srgb(214, 160, 48)));
  const int rug = b.material(pattern(Pattern::Checker, srgb(232, 220, 196), srgb(186, 92, 62), 0.2f));
  const int dark = b.material(plain(srgb(38, 38, 42)));
  const int screen = b.material(plain(srgb(18, 22, 30)));
  const int metal = b.material(plain(srgb(120, 122, 126)));
  const int shade = b.material(emissive(plain(srgb(242, 232, 205)), 0.35f));
  const int pot = b.material(plain(srgb(176, 88, 56)));
  const int leaves = b.material(pattern(Pattern::Noise, srgb(60, 128, 52), srgb(34, 86, 36), 0.07f));
  const int art1 = b.material(pattern(Pattern::Noise, srgb(220, 120, 60), srgb(40, 90, 160), 0.12f));
  const int art2 = b.material(pattern(Pattern::Checker, srgb(240, 240, 236), srgb(30, 60, 120), 0.1f));
  const int ceramic = b.material(plain(srgb(200, 210, 222)));
  const int red = b.material(plain(srgb(170, 40, 36)));
  const std::vector<int> books = {b.material(plain(srgb(160, 40, 40))), b.material(plain(srgb(40, 80, 150))),
                                  b.material(plain(srgb(220, 200, 150))), b.material(plain(srgb(50, 120, 80)))};

  const int walls[4] = {white, white, white, accent};
  add_room_shell(b, lo, hi, walls, planks, white);

  const int sofa = b.cls("sofa"), cushion = b.cls("cushion"), table = b.cls("table"),
            rug_c = b.cls("rug"), cabinet = b.cls("cabinet"), tv = b.cls("tv"), chair = b.cls("chair"),
            lamp = b.cls("lamp"), shelf = b.cls("shelf"), plant = b.cls("plant"), picture = b.cls("picture");

  // Sofa against the back wall (y = 2.5), facing -y; cushions on its seat.
  const float face_in = -kPi / 2;  // local +x -> world -y
  // (Jitter is drawn in separate statements: argument evaluation order is unspecified.)
  const float sofa_x = b.jitter(0.05f);
  add_sofa(b, sofa, {sofa_x, 2.0f, 0.f}, face_in, 2.2f, fabric, dark);
  const float cushion_x[3] = {-0.55f, 0.f, 0.55f};
  for (int k = 0; k < 3; ++k) {
    const float yaw = face_in + b.jitter(0.15f);
    add_cushion(b, cushion, {cushion_x[k], 2.17f, 0.42f}, yaw, {0.14f, 0.42f, 0.4f}, k == 1 ? mustard : fabric);
  }

  // Coffee table on a rug in front of the sofa.
  const float rug_yaw = b.jitter(0.05f);
  add_rug(b, rug_c, {0.f, 0.75f, 0.f}, rug_yaw, 2.4f, 1.6f, rug);
  const V3 ct{b.jitter(0.05f), 0.8f + b.jitter(0.05f), 0.f};
  const float ct_yaw = b.jitter(0.08f);
  add_table(b, table, ct, ct_yaw, {1.1f, 0.6f, 0.42f}, wood, wood, false);
  add_void_item(b, Shape::Cylinder, {0.25f, 0.75f, 0.42f}, {0.04f, 0.04f, 0.1f}, red, "cup");
  add_void_item(b, Shape::Box, {-0.2f, 0.85f, 0.42f}, {0.18f, 0.06f, 0.025f}, dark, "remote");

  // Tv cabinet and tv on the front wall (y = -2.5), facing +y.
  const float face_out = kPi / 2;
  add_cabinet(b, cabinet, {0.f, -2.28f, 0.f}, face_out, {0.42f, 1.6f, 0.5f}, white, dark, 2);
  add_wall_panel(b, tv, {0.f, -2.5f, 1.3f}, face_out, {0.05f, 1.2f, 0.68f}, screen, dark);
  add_void_item(b, Shape::Sphere, {0.6f, -2.25f, 0.5f}, {0.09f, 0.09f, 0.09f}, ceramic, "vase");

  // Dining corner: table and four chairs around it.
  const V3 dt{-1.5f + b.jitter(0.05f), -1.1f + b.jitter(0.05f), 0.f};
  add_table(b, table, dt, 0.f, {1.3f, 0.8f, 0.75f}, wood, wood);
  for (int side = -1; side <= 1; side += 2)
    for (int k = -1; k <= 1; k += 2) {
      const V3 p{dt.x + 0.35f * k + b.jitter(0.05f), dt.y + side * (0.62f + b.jitter(0.04f)), 0.f};
      const float yaw = (side < 0 ? kPi / 2 : -kPi / 2) + b.jitter(0.2f);
      add_chair(b, chair, p, yaw, wood, dark);
    }
  add_void_item(b, Shape::Sphere, {dt.x + 0.1f, dt.y, 0.75f}, {0.1f, 0.1f, 0.1f}, ceramic, "bowl");

  // Side table with a table lamp; a floor lamp in the corner.
  add_table(b, table, {1.5f, 2.05f, 0.f}, 0.f, {0.45f, 0.45f, 0.55f}, wood, wood, false);
  add_table_lamp(b, lamp, {1.5f, 2.05f, 0.55f}, shade, ceramic);
  add_floor_lamp(b, lamp, {-2.5f, 2.05f, 0.f}, shade, metal);

  // Shelf on the right wall (x = 3), facing -x, with books on its boards.
  const V3 sp{2.8f, 0.2f + b.jitter(0.1f), 0.f};
  const auto boards = add_shelf(b, shelf, sp, kPi, {0.36f, 1.2f, 1.9f}, 5, wood);
  for (std::size_t k = 1; k < boards.size(); ++k)
    add_books(b, {sp.x, sp.y, boards[k - 1]}, kPi, 1.1f, 0.3f, books, 0.55f + 0.1f * static_cast<float>(k % 3));

  add_plant(b, plant, {2.55f, -2.05f, 0.f}, 1.0f, pot, leaves);
  add_plant(b, plant, {-2.6f, -2.15f, 0.f}, 0.7f, pot, leaves);

  // Pictures on the left wall (x = -3), facing +x.
  add_wall_panel(b, picture, {-3.f, 0.7f, 1.55f}, 0.f, {0.03f, 0.9f, 0.6f}, art1, wood);
  add_wall_panel(b, picture, {-3.f, -1.1f, 1.6f}, 0.f, {0.03f, 0.6f, 0.75f}, art2, dark);

  Scene& s = b.scene();
  s.room_min = lo;
  s.room_max = hi;
  s.ambient = 0.28f;
  // A soft-shadowed ceiling panel and an unshadowed fill.
  s.lights = {Light{{0.f, 0.3f, 2.66f}, {1.2f, 0, 0}, {0, 1.2f, 0}, {0, 0, -1}, 1.5f},
              Light{{-1.5f, -1.1f, 2.66f}, {0.6f, 0, 0}, {0, 0.6f, 0}, {0, 0, -1}, 0.7f, false}};
  s.camera.centre = {0.1f, -0.1f, 0.f};
  s.camera.ax = 1.5f;
  s.camera.ay = 1.0f;
  s.camera.z_lo = 1.3f;
  s.camera.z_hi = 1.75f;
  s.camera.tx = 2.6f;
  s.camera.ty = 2.1f;
  s.camera.tz_lo = 0.35f;
  s.camera.tz_hi = 1.3f;
  return b.finish();
}

}  // namespace jnerf::synth
