#pragma once
// OpenMP queries that also compile without OpenMP, and a scope in which the calling thread
// starts no team of its own (so Eigen's products run single-threaded with the same
// blocking every time: deterministic results for a given thread count).
#ifdef _OPENMP
#include <omp.h>
#endif

namespace jnerf {

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

inline int team_size() {
#ifdef _OPENMP
  return omp_get_num_threads();
#else
  return 1;
#endif
}

// While alive, the calling thread may start no OpenMP team (nthreads-var is a per-task
// setting: other threads are unaffected).
class SingleThreadScope {
 public:
#ifdef _OPENMP
  SingleThreadScope() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadScope() { omp_set_num_threads(saved_); }
#else
  SingleThreadScope() = default;  // without OpenMP every thread is alone anyway
#endif
  SingleThreadScope(const SingleThreadScope&) = delete;
  SingleThreadScope& operator=(const SingleThreadScope&) = delete;

 private:
#ifdef _OPENMP
  int saved_ = 1;
#endif
};

}  // namespace jnerf
