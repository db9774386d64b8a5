// jnerf dataset: load any supported layout and print what was found (a loader check).
#include <iostream>

#include "commands.hpp"
#include "jnerf/data/dataset_config.hpp"

namespace jnerf::cli {

void add_dataset(CLI::App& app, const GlobalOptions&, Action& action) {
  auto* cmd = app.add_subcommand("dataset", "load a dataset folder and summarise it");
  struct Args {
    std::string data, format = "auto";
    int downscale = 1, max_frames = 0;
    bool cameras_only = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--data", a->data, "dataset folder")->required();
  cmd->add_option("--format", a->format, "replica, scannet, blender, ngp, llff or auto");
  cmd->add_option("--downscale", a->downscale, "integer downscale factor")->check(CLI::PositiveNumber);
  cmd->add_option("--max-frames", a->max_frames, "keep at most N train and N test views")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--cameras-only", a->cameras_only, "read cameras, skip pixel data");
  cmd->callback([a, &action] {
    action = [a] {
      Json config = default_config();
      config["data"]["path"] = a->data;
      config["data"]["format"] = a->format;
      config["data"]["downscale"] = a->downscale;
      config["data"]["max_frames"] = a->max_frames;
      LoadOptions options = load_options_from_config(config);
      options.load_images = !a->cameras_only;
      const Dataset dataset = load_dataset(options);
      std::cout << describe_dataset(dataset);
    };
  });
}

}  // namespace jnerf::cli
