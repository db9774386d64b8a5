#pragma once
// The CUDA runtime header of the host emulation: the host API (cuda_runtime_api.h) and,
// for kernel files rewritten by transform_cu.py, the device side (cuda_emulation/device.hpp).
#include "cuda_runtime_api.h"
#include "cuda_emulation/device.hpp"
