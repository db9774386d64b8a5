#pragma once
// Label propagation through a (shaped) NeRF, as the reference protocol (DESIGN.md 1.1):
// the clicks' Jacobians are averaged per class into a direction g_c (double); the fine RGB
// head is perturbed, W += t g_c, and each pixel of a view is labelled with the class whose
// perturbation it responds to most.
//   perturb2d  re-render and take mean_k |C' - C|, then clip / blur / normalise / absent
//              rule (eval/response_maps.hpp) per class;
//   linear2d   the same from the Jacobians J: each ray's heaviest samples moved exactly,
//              the rest of its first-order change t J g_c through one sigmoid (exact on a
//              surface; kernels/jacobian.cuh, surface_colour_change_ray);
//   first_order2d  the plain first-order term t J g_c (the t -> 0 limit of perturb2d);
//   perturb3d  re-evaluate the fine samples and render |mean_k (raw' - raw)| with the
//              density weights, normalised by its maximum per view;
//   linear3d   the same, exactly, as one GEMM of the head input with the directions.
//   cosine2d   not the reference: |cos(J_r, g_c)|, the similarity the shaping loss aligns,
//              for every pixel r; the maps are already on one scale, so no post-processing.
#include <string>
#include <vector>

#include "jnerf/core/config.hpp"
#include "jnerf/data/dataset.hpp"
#include "jnerf/eval/response_maps.hpp"
#include "jnerf/propagate/annotations.hpp"
#include "jnerf/train/nerf_engine.hpp"

namespace jnerf {

ResponseMode parse_response_mode(const std::string& name);  // InputError names the value
const char* to_string(ResponseMode mode);
bool is_3d(ResponseMode mode);
// Whether the mode's maps go through the reference's 2D post-processing (clip, blur,
// normalise, absent rule): perturb2d, linear2d, first_order2d and render2d.
bool uses_2d_postprocess(ResponseMode mode);
// A class's raw response map made ready for the argmax: 2D post-processing, 3D maps
// divided by their maximum, cosine maps unchanged.
void finish_response_map(std::vector<float>& map, int width, int height, ResponseMode mode,
                         const ResponseSettings& response);

struct PropagationSettings {
  int labelled_frame = 0;           // index into the training views
  std::string labels = "semantic";  // semantic (class ids) or instance (instance ids as classes)
  AnnotationSettings annotation;
  std::string clicks_file;          // load the clicks instead of simulating them
  ResponseMode mode = ResponseMode::Perturb2D;
  double step = 0.1;                // t
  ResponseSettings response;
  JacobianChannels channels = JacobianChannels::Mean;
  bool bias = false;

  static PropagationSettings from_config(const Json& config);  // the "propagate" section
};

// Ground-truth ids of a view for the chosen labels (0 = void); InputError when absent.
std::vector<int> frame_labels(const Frame& frame, const std::string& labels);

// One direction per clicked class: the mean of its clicks' Jacobians.
struct ClassDirections {
  std::vector<int> labels;    // class (or instance) id of each direction
  JacobianSpec spec;
  std::vector<double> values; // labels.size() x spec.dims()
};
ClassDirections class_directions(NerfEngine& engine, const Frame& labelled, const Annotation& annotation,
                                 const JacobianSpec& spec, int chunk);

struct ViewPrediction {
  std::vector<int> labels;                   // W*H ids (from directions.labels)
  std::vector<std::vector<float>> responses; // per class, after post-processing
};
ViewPrediction predict_view(NerfEngine& engine, const Frame& frame, const ClassDirections& directions,
                            const PropagationSettings& settings, int chunk);

}  // namespace jnerf
