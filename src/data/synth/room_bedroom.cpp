// room2: a bedroom with a small desk.
#include "furniture.hpp"
#include "presets.hpp"

namespace jnerf::synth {

namespace {
constexpr float kPi = 3.14159265358979f;
}  // namespace

Scene build_bedroom(std::uint64_t seed) {
  SceneBuilder b("room2", seed);
  const V3 lo{-2.5f, -2.25f, 0.f}, hi{2.5f, 2.25f, 2.6f};

  // Shared on purpose: walnut makes the bed frame, the nightstands, the wardrobe and the
  // desk; the white linen is the mattress (class bed), the pillows, the ceiling and the door.
  const int paint = b.material(plain(srgb(186, 204, 214)));
  const int paper = b.material(pattern(Pattern::Checker, srgb(222, 206, 186), srgb(204, 186, 166), 0.12f));
  const int white = b.material(plain(srgb(236, 234, 228)));
  const int planks = b.material(pattern(Pattern::Stripes, srgb(188, 150, 110), srgb(170, 134, 96), 0.16f, 0, 0.6f));
  const int walnut = b.material(pattern(Pattern::Stripes, srgb(112, 74, 48), srgb(98, 64, 40), 0.045f, 0, 1.2f));
  const int blanket = b.material(pattern(Pattern::Stripes, srgb(40, 56, 100), srgb(214, 204, 180), 0.11f, 1));
  const int rug = b.material(pattern(Pattern::Noise, srgb(200, 184, 160), srgb(150, 128, 104), 0.04f));
  const int brass = b.material(plain(srgb(180, 150, 80)));
  const int shade = b.material(emissive(plain(srgb(245, 236, 210)), 0.35f));
  const int art1 = b.material(pattern(Pattern::Stripes, srgb(220, 100, 80), srgb(240, 200, 120), 0.08f, 0));
  const int art2 = b.material(pattern(Pattern::Noise, srgb(60, 120, 170), srgb(230, 230, 230), 0.1f));
  const int black = b.material(plain(srgb(34, 34, 38)));
  const int chair_mat = b.material(plain(srgb(90, 130, 100)));
  const int grey = b.material(plain(srgb(140, 140, 146)));
  const std::vector<int> books = {b.material(plain(srgb(170, 50, 50))), b.material(plain(srgb(60, 90, 160))),
                                  b.material(plain(srgb(230, 210, 150)))};

  const int walls[4] = {paint, paint, paint, paper};
  add_room_shell(b, lo, hi, walls, planks, white);

  const int bed = b.cls("bed"), pillow = b.cls("pillow"), blanket_c = b.cls("blanket"),
            nightstand = b.cls("nightstand"), lamp = b.cls("lamp"), wardrobe = b.cls("wardrobe"),
            rug_c = b.cls("rug"), picture = b.cls("picture"), desk = b.cls("desk"), chair = b.cls("chair"),
            door = b.cls("door");

  // Bed with its headboard against the wall y = 2.25; local +x (the foot) points to -y.
  const float foot = -kPi / 2;
  const float bed_x = b.jitter(0.05f);
  const V3 bp{bed_x, 1.23f, 0.f};
  add_bed(b, bed, bp, foot, 2.0f, 1.6f, walnut, white);
  // Blanket over the foot two thirds, pillows at the head (world y = bp.y - local x).
  add_cushion(b, blanket_c, {bp.x, bp.y - 0.33f, 0.54f}, foot, {1.3f, 1.58f, 0.06f}, blanket);
  for (int s = -1; s <= 1; s += 2) {
    const float yaw = foot + b.jitter(0.12f);
    add_cushion(b, pillow, {bp.x + 0.4f * s, bp.y + 0.68f, 0.54f}, yaw, {0.36f, 0.6f, 0.14f}, white);
  }
  // Nightstands with lamps either side of the bed.
  for (int s = -1; s <= 1; s += 2) {
    const V3 np{bp.x + s * 1.12f, 2.0f, 0.f};
    add_cabinet(b, nightstand, np, foot, {0.4f, 0.45f, 0.55f}, walnut, brass, 2);
    add_table_lamp(b, lamp, {np.x, np.y + 0.04f, 0.55f}, shade, brass);
  }
  add_books(b, {bp.x - 1.12f, 1.88f, 0.55f}, 0.f, 0.16f, 0.2f, books, 0.9f);

  add_rug(b, rug_c, {0.f, -0.35f, 0.f}, b.jitter(0.06f), 2.1f, 1.4f, rug);

  // Wardrobe against the wall x = -2.5, facing +x.
  add_cabinet(b, wardrobe, {-2.18f, -0.7f, 0.f}, 0.f, {0.6f, 1.5f, 2.1f}, walnut, brass, 1);
  add_void_item(b, Shape::Box, {-2.2f, -1.0f, 2.1f}, {0.4f, 0.5f, 0.25f}, grey, "box");

  // Desk and chair against the wall x = 2.5 (desk faces -x, the chair faces the desk).
  const float desk_y = 0.7f + b.jitter(0.08f);
  add_desk(b, desk, {2.17f, desk_y, 0.f}, kPi, {0.6f, 1.1f, 0.74f}, walnut, walnut);
  add_void_item(b, Shape::Box, {2.2f, desk_y + 0.1f, 0.74f}, {0.25f, 0.34f, 0.02f}, black, "laptop");
  const float chair_y = desk_y + b.jitter(0.12f);
  const float chair_yaw = b.jitter(0.3f);
  add_chair(b, chair, {1.6f, chair_y, 0.f}, chair_yaw, chair_mat, black);

  // Pictures above the bed and on the desk wall; the door on the wall y = -2.25.
  add_wall_panel(b, picture, {0.f, 2.25f, 1.6f}, foot, {0.03f, 1.0f, 0.5f}, art1, black);
  add_wall_panel(b, picture, {2.5f, -0.9f, 1.5f}, kPi, {0.03f, 0.7f, 0.55f}, art2, walnut);
  add_wall_panel(b, door, {1.3f, -2.25f, 1.02f}, kPi / 2, {0.05f, 0.9f, 2.04f}, white);
  add_void_item(b, Shape::Cylinder, {-1.3f, -1.95f, 0.f}, {0.12f, 0.12f, 0.45f}, grey, "basket");

  Scene& s = b.scene();
  s.room_min = lo;
  s.room_max = hi;
  s.ambient = 0.3f;
  // A soft-shadowed ceiling panel and an unshadowed fill.
  s.lights = {Light{{0.f, 0.f, 2.56f}, {1.0f, 0, 0}, {0, 1.0f, 0}, {0, 0, -1}, 1.3f},
              Light{{0.2f, -1.4f, 2.56f}, {0.5f, 0, 0}, {0, 0.5f, 0}, {0, 0, -1}, 0.6f, false}};
  s.camera.centre = {0.1f, -0.5f, 0.f};
  s.camera.ax = 1.05f;
  s.camera.ay = 0.75f;
  s.camera.z_lo = 1.3f;
  s.camera.z_hi = 1.7f;
  s.camera.tx = 2.1f;
  s.camera.ty = 1.9f;
  s.camera.tz_lo = 0.3f;
  s.camera.tz_hi = 1.2f;
  return b.finish();
}

}  // namespace jnerf::synth
