// The emulated CUDA runtime: device memory, streams, errors, device queries, and the
// execution of kernel launches (see include/cuda_emulation/device.hpp for the model).
#include <semaphore.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cuda_emulation/device.hpp"
#include "cuda_emulation/runtime_internal.hpp"

// Fibers (see "fibers" below) need a stack switch written for the host's ABI.
#if defined(__x86_64__)
#define CUDA_EMU_HAVE_FIBERS 1
#else
#define CUDA_EMU_HAVE_FIBERS 0
#endif

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <sanitizer/common_interface_defs.h>
#define CUDA_EMU_STACK_TRACE() __sanitizer_print_stack_trace()
#else
#define CUDA_EMU_STACK_TRACE() ((void)0)
#endif

thread_local uint3 threadIdx;
thread_local uint3 blockIdx;
thread_local dim3 blockDim;
thread_local dim3 gridDim;

namespace cuda_emu {

// ---- settings ----------------------------------------------------------------------------

namespace {

long env_integer(const char* name, long fallback, long lo, long hi) {
  const char* text = std::getenv(name);
  if (!text || !*text) return fallback;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (*end != '\0' || v < lo || v > hi) {
    std::fprintf(stderr, "CUDA emulation: %s=%s is not an integer in [%ld, %ld]\n", name, text, lo, hi);
    std::exit(2);
  }
  return v;
}

}  // namespace

const Settings& settings() {
  static const Settings s = [] {
    Settings r;
    r.devices = static_cast<int>(env_integer("JNERF_CUDA_EMU_DEVICES", 1, 0, 1));
    r.sms = static_cast<int>(env_integer("JNERF_CUDA_EMU_SMS", 132, 1, 100000));
    r.smem_optin = static_cast<int>(env_integer("JNERF_CUDA_EMU_SMEM_OPTIN", 232448, 48 * 1024, 1 << 30));
    // Under ThreadSanitizer every kernel gets its OS threads, so that races between the
    // threads of kernels without barriers are visible too.
#ifdef __SANITIZE_THREAD__
    const char* fallback = "always";
#else
    const char* fallback = "auto";
#endif
    const char* threads = std::getenv("JNERF_CUDA_EMU_THREADS");
    const std::string mode = threads && *threads ? threads : fallback;
    if (mode != "auto" && mode != "always") {
      std::fprintf(stderr, "CUDA emulation: JNERF_CUDA_EMU_THREADS=%s (expected auto or always)\n", mode.c_str());
      std::exit(2);
    }
    r.always_threads = mode == "always";
    // Fibers need the x86-64 stack switch, and ThreadSanitizer needs OS threads (it cannot
    // see a race between two fibers of one thread).
#if CUDA_EMU_HAVE_FIBERS && !defined(__SANITIZE_THREAD__)
    const bool fibers_possible = true;
#else
    const bool fibers_possible = false;
#endif
    const char* scheduler = std::getenv("JNERF_CUDA_EMU_SCHEDULER");
    const std::string sched = scheduler && *scheduler ? scheduler : fibers_possible ? "fibers" : "threads";
    if (sched != "fibers" && sched != "threads") {
      std::fprintf(stderr, "CUDA emulation: JNERF_CUDA_EMU_SCHEDULER=%s (expected fibers or threads)\n", sched.c_str());
      std::exit(2);
    }
    r.fibers = sched == "fibers";
    if (r.fibers && !fibers_possible) {
      std::fprintf(stderr, "CUDA emulation: JNERF_CUDA_EMU_SCHEDULER=fibers needs an x86-64 host and no ThreadSanitizer\n");
      std::exit(2);
    }
    return r;
  }();
  return s;
}

// ---- errors ------------------------------------------------------------------------------

namespace {
thread_local cudaError_t t_last_error = cudaSuccess;
}

cudaError_t record(cudaError_t err) {
  if (err != cudaSuccess) t_last_error = err;
  return err;
}

[[noreturn]] void fatal(const std::string& message) {
  std::fprintf(stderr, "\nCUDA emulation: fatal: %s\n", message.c_str());
  std::fflush(stderr);
  CUDA_EMU_STACK_TRACE();
  std::abort();
}

// ---- device memory -----------------------------------------------------------------------

namespace {

struct Memory {
  std::mutex m;
  std::map<std::uintptr_t, std::size_t> allocations;  // base -> bytes
};

Memory& memory() {
  static Memory* mem = new Memory;  // never destroyed: buffers may be freed by static destructors
  return *mem;
}

}  // namespace

namespace {

// The allocation at or below ptr (start, bytes), or false when there is none.
bool allocation_below(const void* ptr, std::uintptr_t* start, std::size_t* bytes) {
  const auto p = reinterpret_cast<std::uintptr_t>(ptr);
  Memory& mem = memory();
  std::lock_guard<std::mutex> lock(mem.m);
  auto it = mem.allocations.upper_bound(p);
  if (it == mem.allocations.begin()) return false;
  --it;
  *start = it->first;
  *bytes = it->second;
  return true;
}

}  // namespace

bool device_range(const void* ptr, std::size_t bytes) {
  const auto p = reinterpret_cast<std::uintptr_t>(ptr);
  std::uintptr_t start = 0;
  std::size_t size = 0;
  if (!allocation_below(ptr, &start, &size)) return false;
  return p >= start && p - start <= size && bytes <= size - (p - start);
}

bool device_pointer(const void* ptr) {
  const auto p = reinterpret_cast<std::uintptr_t>(ptr);
  std::uintptr_t start = 0;
  std::size_t size = 0;
  if (!allocation_below(ptr, &start, &size)) return false;
  return p - start < std::max<std::size_t>(size, 1);
}

// ---- streams -----------------------------------------------------------------------------

namespace {

LiveHandles& streams() {
  static auto* s = new LiveHandles;
  return *s;
}

}  // namespace

bool valid_stream(cudaStream_t stream) {
  return stream == nullptr || streams().contains(stream);
}

// ---- kernel attributes -------------------------------------------------------------------

namespace {

constexpr int kDefaultSharedPerBlock = 48 * 1024;

struct Attributes {
  std::mutex m;
  std::map<const void*, int> max_dynamic_smem;
};

Attributes& attributes() {
  static Attributes* a = new Attributes;
  return *a;
}

int max_dynamic_smem(const void* kernel) {
  Attributes& a = attributes();
  std::lock_guard<std::mutex> lock(a.m);
  auto it = a.max_dynamic_smem.find(kernel);
  return it == a.max_dynamic_smem.end() ? kDefaultSharedPerBlock : it->second;
}

}  // namespace

// ---- execution ---------------------------------------------------------------------------

namespace detail {

namespace {

struct ProbeResult {
  bool active = false;
  bool reported = false;
  long long max_threads = 0;
  bool synchronises = false;
};
thread_local ProbeResult t_probe;

enum class ThreadState { Running, AtBarrier, AtWarp, Exited };

struct Lane {
  WarpOp op;
  unsigned mask;
  std::uint64_t value;
  int operand, width;
  const char* file;
  int line;
  std::uint64_t result;
  bool done;
};

struct SharedArray {
  const void* site;
  const char* name;
  void* ptr;
  std::size_t bytes;
};

// One block in execution. Where its threads are OS threads, every field below `m` is guarded by it.
struct Block {
  const LaunchConfig* config = nullptr;
  unsigned nthreads = 0;
  bool threaded = false;  // one execution context per CUDA thread
  bool fibers = false;    // ... and those contexts are fibers of the launching OS thread
  uint3 index{0, 0, 0};
  int max_dynamic = kDefaultSharedPerBlock;
  void* dynamic = nullptr;

  std::mutex m;
  std::condition_variable cv;  // the block barrier
  // One per warp, so that a warp operation wakes its own lanes only.
  std::unique_ptr<std::condition_variable[]> warp_cv;
  std::vector<ThreadState> state;
  std::vector<Lane> lanes;
  unsigned live = 0, blocked = 0;
  unsigned arrived = 0;  // at the block barrier
  const char* barrier_file = nullptr;
  int barrier_line = 0;
  std::uint64_t barrier_generation = 0;
  std::vector<SharedArray> shared;
  std::size_t static_bytes = 0;
};

thread_local Block* t_block = nullptr;
thread_local unsigned t_tid = 0;

std::string thread_name(const Block& b, unsigned tid) {
  const dim3 bd = b.config->block;
  char buf[160];
  std::snprintf(buf, sizeof buf, "block (%u,%u,%u) thread (%u,%u,%u)", b.index.x, b.index.y, b.index.z,
                tid % bd.x, (tid / bd.x) % bd.y, tid / (bd.x * bd.y));
  return buf;
}

std::string where(const Block& b) {
  return std::string("kernel ") + b.config->name + " (launched at " + b.config->file + ":" +
         std::to_string(b.config->line) + ")";
}

std::string site(const char* file, int line) { return std::string(file) + ":" + std::to_string(line); }

// One source line (file names are string literals: usually the same pointer).
bool same_site(const char* file_a, int line_a, const char* file_b, int line_b) {
  return line_a == line_b && (file_a == file_b || std::strcmp(file_a, file_b) == 0);
}

[[noreturn]] void block_fault(const Block& b, unsigned tid, const std::string& what) {
  fatal(where(b) + ", " + thread_name(b, tid) + ": " + what);
}

// Every live thread waits and no wait can end.
void check_deadlock(Block& b, unsigned tid) {
  if (b.blocked < b.live) return;
  std::string waits;
  for (unsigned t = 0; t < b.nthreads && waits.size() < 2000; ++t) {
    if (b.state[t] == ThreadState::AtBarrier)
      waits += "\n  " + thread_name(b, t) + " at __syncthreads " + site(b.barrier_file, b.barrier_line);
    else if (b.state[t] == ThreadState::AtWarp)
      waits += "\n  " + thread_name(b, t) + " at a warp operation " + site(b.lanes[t].file, b.lanes[t].line);
  }
  block_fault(b, tid, "deadlock: every live thread of the block waits and none can proceed (divergent "
                      "synchronisation, undefined behaviour in CUDA):" + waits);
}

unsigned lanes_in_warp(const Block& b, unsigned warp) {
  const unsigned first = warp * 32;
  return std::min(32u, b.nthreads - first);
}

// Completes the warp round `tid` takes part in when all its participants have arrived.
bool try_complete_warp(Block& b, unsigned tid) {
  const unsigned warp = tid / 32, first = warp * 32, n = lanes_in_warp(b, warp);
  const Lane& me = b.lanes[tid];
  unsigned participants = 0;
  for (unsigned l = 0; l < n; ++l) {
    if (!(me.mask >> l & 1u)) continue;
    const ThreadState s = b.state[first + l];
    if (s == ThreadState::Exited) continue;
    if (s != ThreadState::AtWarp) return false;
    participants |= 1u << l;
  }
  const std::uint64_t garbage = ~std::uint64_t{0};  // a lane that does not take part: undefined
  std::uint64_t ballot = 0;
  for (unsigned l = 0; l < n; ++l)
    if (participants >> l & 1u) ballot |= (b.lanes[first + l].value != 0 ? 1ull : 0ull) << l;
  for (unsigned l = 0; l < n; ++l) {
    if (!(participants >> l & 1u)) continue;
    Lane& lane = b.lanes[first + l];
    const int w = lane.width;
    const int seg = static_cast<int>(l) & ~(w - 1), pos = static_cast<int>(l) & (w - 1);
    int src = -1;
    switch (lane.op) {
      case WarpOp::Shfl: src = seg + (lane.operand & (w - 1)); break;
      case WarpOp::Up: src = pos - lane.operand < 0 ? static_cast<int>(l) : static_cast<int>(l) - lane.operand; break;
      case WarpOp::Down: src = pos + lane.operand >= w ? static_cast<int>(l) : static_cast<int>(l) + lane.operand; break;
      case WarpOp::Xor: {
        const int x = static_cast<int>(l) ^ lane.operand;
        src = (x >= seg + w || x >= 32) ? static_cast<int>(l) : x;
        break;
      }
      default: break;
    }
    if (lane.op == WarpOp::Ballot) lane.result = ballot & participants;
    else if (lane.op == WarpOp::Any) lane.result = (ballot & participants) != 0;
    else if (lane.op == WarpOp::All) lane.result = (ballot & participants) == participants;
    else if (lane.op == WarpOp::Sync) lane.result = 0;
    else lane.result = (src >= 0 && src < static_cast<int>(n) && (participants >> src & 1u)) ? b.lanes[first + src].value : garbage;
    lane.done = true;
    b.state[first + l] = ThreadState::Running;
    --b.blocked;
  }
  b.warp_cv[warp].notify_all();
  return true;
}

// The block's mutex, taken only where its threads are OS threads (one at a time runs
// otherwise, and fibers must not switch while holding it).
std::unique_lock<std::mutex> block_lock(Block& b) {
  std::unique_lock<std::mutex> lock(b.m, std::defer_lock);
  if (b.threaded && !b.fibers) lock.lock();
  return lock;
}

void thread_exit(Block& b, unsigned tid) {
  std::unique_lock<std::mutex> lock = block_lock(b);
  b.state[tid] = ThreadState::Exited;
  --b.live;
  if (b.arrived > 0)
    block_fault(b, tid, "exited while " + std::to_string(b.arrived) + " threads of its block wait at __syncthreads " +
                            site(b.barrier_file, b.barrier_line) + " (a barrier not reached by the whole block)");
  // A warp round that only waited for this thread can now complete.
  const unsigned warp = tid / 32, first = warp * 32, n = lanes_in_warp(b, warp);
  for (unsigned l = 0; l < n; ++l)
    if (b.state[first + l] == ThreadState::AtWarp && try_complete_warp(b, first + l)) break;
  if (b.live > 0) check_deadlock(b, tid);
}

// ---- the pool of OS threads that run the CUDA threads of a block ----

struct Pool {
  struct Worker {
    std::thread thread;
    sem_t go;
  };
  std::vector<std::unique_ptr<Worker>> workers;
  Block* block = nullptr;
  void (*invoke)(void*) = nullptr;
  void* ctx = nullptr;
  std::atomic<unsigned> remaining{0};
  sem_t done;

  Pool() { sem_init(&done, 0, 0); }

  void ensure(unsigned n) {
    while (workers.size() < n) {
      auto w = std::make_unique<Worker>();
      sem_init(&w->go, 0, 0);
      const unsigned index = static_cast<unsigned>(workers.size());
      Worker* raw = w.get();
      w->thread = std::thread([this, raw, index] {
        for (;;) {
          while (sem_wait(&raw->go) != 0) {
          }
          run_thread(*block, index, invoke, ctx);
          if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) sem_post(&done);
        }
      });
      w->thread.detach();
      workers.push_back(std::move(w));
    }
  }

  static void run_thread(Block& b, unsigned tid, void (*invoke)(void*), void* ctx);

  void run_block(Block& b, void (*fn)(void*), void* c) {
    block = &b;
    invoke = fn;
    ctx = c;
    remaining.store(b.nthreads, std::memory_order_release);
    for (unsigned t = 0; t < b.nthreads; ++t) sem_post(&workers[t]->go);
    while (sem_wait(&done) != 0) {
    }
  }
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: its threads outlive main
  return *p;
}

void set_builtins(const Block& b, unsigned tid) {
  const dim3 bd = b.config->block;
  threadIdx = uint3{tid % bd.x, (tid / bd.x) % bd.y, tid / (bd.x * bd.y)};
  blockIdx = b.index;
  blockDim = bd;
  gridDim = b.config->grid;
  t_block = const_cast<Block*>(&b);
  t_tid = tid;
}

void Pool::run_thread(Block& b, unsigned tid, void (*invoke)(void*), void* ctx) {
  set_builtins(b, tid);
  invoke(ctx);
  thread_exit(b, tid);
  t_block = nullptr;
}

// ---- fibers: the CUDA threads of a block as coroutines of the launching OS thread ----
// A fiber runs until its CUDA thread waits (barrier, warp operation) or exits; then the
// scheduler resumes the next runnable one, in thread order. A switch saves six registers
// and the stack pointer (cuda_emu_switch_stack below), where waking an OS thread at every
// __syncthreads costs a kernel context switch. Not ucontext: ASan's swapcontext clears the
// shadow of the whole target stack at every switch. Fibers live as long as the process
// (like the OS-thread pool), so each keeps its stack and ASan's fake stack (for
// use-after-return) from block to block; ASan is told of every switch.

#if CUDA_EMU_HAVE_FIBERS
// void cuda_emu_switch_stack(void** save_sp, void* next_sp): pushes the System V
// callee-saved registers, stores the stack pointer, loads `next_sp` and pops the same.
asm(R"(
  .text
  .p2align 4
  .type cuda_emu_switch_stack, @function
cuda_emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size cuda_emu_switch_stack, .-cuda_emu_switch_stack
)");
extern "C" void cuda_emu_switch_stack(void** save_sp, void* next_sp);
#else
extern "C" void cuda_emu_switch_stack(void**, void*) { fatal("fibers need x86-64"); }
#endif

#if defined(__SANITIZE_ADDRESS__)
void asan_start_switch(void** fake_stack_save, const void* bottom, std::size_t size) {
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
}
void asan_finish_switch(void* fake_stack_save, const void** bottom_old, std::size_t* size_old) {
  __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
}
#else
void asan_start_switch(void**, const void*, std::size_t) {}
void asan_finish_switch(void*, const void**, std::size_t*) {}
#endif

struct FiberPool {
  struct Fiber {
    char* stack = nullptr;  // kStackBytes, above a guard page
    void* sp = nullptr;     // saved stack pointer while switched out
    void* fake_stack = nullptr;
  };
  static constexpr std::size_t kStackBytes = std::size_t{256} << 10;
  std::vector<Fiber> fibers;
  void* scheduler_sp = nullptr;
  const void* scheduler_stack = nullptr;
  std::size_t scheduler_stack_bytes = 0;
  Block* block = nullptr;
  void (*invoke)(void*) = nullptr;
  void* ctx = nullptr;
  unsigned current = 0;

  void ensure(unsigned n) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    while (fibers.size() < n) {
      void* mem = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
      if (mem == MAP_FAILED) fatal("cannot map a fiber stack");
      if (mprotect(mem, page, PROT_NONE) != 0) fatal("cannot protect a fiber stack's guard page");
      Fiber f;
      f.stack = static_cast<char*>(mem) + page;
      // The first switch "returns" into entry(), with the stack aligned as after a call:
      // six zero registers, entry's address, a null return address for entry itself.
      void** top = reinterpret_cast<void**>(f.stack + kStackBytes);
      top[-1] = nullptr;
      top[-2] = reinterpret_cast<void*>(&FiberPool::entry);
      for (int r = 3; r <= 8; ++r) top[-r] = nullptr;
      f.sp = top - 8;
      fibers.push_back(f);
    }
  }

  // Runs CUDA threads for ever: one per resumption, parking between blocks.
  [[noreturn]] static void entry() {
    FiberPool& p = fiber_pool();
    asan_finish_switch(nullptr, &p.scheduler_stack, &p.scheduler_stack_bytes);
    for (;;) {
      const unsigned tid = p.current;
      p.invoke(p.ctx);
      thread_exit(*p.block, tid);
      p.yield();  // resumed only for a thread of a later block
    }
  }

  void resume(unsigned tid) {
    current = tid;
    set_builtins(*block, tid);
    Fiber& f = fibers[tid];
    void* save = nullptr;
    asan_start_switch(&save, f.stack, kStackBytes);
    cuda_emu_switch_stack(&scheduler_sp, f.sp);
    asan_finish_switch(save, nullptr, nullptr);
  }

  // From the running fiber: back to the scheduler, until it resumes this fiber.
  // (By index: `fibers` may grow while this fiber is parked.)
  void yield() {
    const unsigned me = current;
    asan_start_switch(&fibers[me].fake_stack, scheduler_stack, scheduler_stack_bytes);
    cuda_emu_switch_stack(&fibers[me].sp, scheduler_sp);
    asan_finish_switch(fibers[me].fake_stack, &scheduler_stack, &scheduler_stack_bytes);
  }

  // Round robin over the runnable threads; a waiting thread becomes runnable when the
  // barrier or warp round it waits for completes (its last arrival completes it).
  void run_block(Block& b, void (*fn)(void*), void* c) {
    block = &b;
    invoke = fn;
    ctx = c;
    for (bool ran = true; ran;) {
      ran = false;
      for (unsigned t = 0; t < b.nthreads; ++t)
        if (b.state[t] == ThreadState::Running) {
          resume(t);
          ran = true;
        }
    }
    if (b.live != 0) block_fault(b, 0, "threads still wait after every thread ran (an undetected deadlock)");
    t_block = nullptr;
  }

  static FiberPool& fiber_pool() {
    static FiberPool* p = new FiberPool;  // never destroyed: its fibers are parked in it
    return *p;
  }
};

// Waits in a block's thread until `done`: on the condition variable between OS threads,
// or by switching to the other fibers.
template <class Done>
void block_wait(Block& b, std::unique_lock<std::mutex>& lock, std::condition_variable& cv, Done done) {
  if (!b.fibers) {
    cv.wait(lock, done);
    return;
  }
  while (!done()) FiberPool::fiber_pool().yield();
}

void* allocate_filled(std::size_t bytes, std::size_t align) {
  void* p = nullptr;
  if (posix_memalign(&p, std::max(align, sizeof(void*)), bytes) != 0 || (!p && bytes))
    fatal("out of host memory for " + std::to_string(bytes) + " bytes");
  if (bytes) std::memset(p, 0xFF, bytes);
  return p;
}

void begin_block(Block& b) {
  b.state.assign(b.nthreads, ThreadState::Running);
  b.lanes.assign(b.threaded ? b.nthreads : 0, Lane{});
  b.live = b.nthreads;
  b.blocked = 0;
  b.arrived = 0;
  b.barrier_generation = 0;
  b.static_bytes = 0;
  b.dynamic = allocate_filled(b.config->dynamic_smem, 16);
}

void end_block(Block& b) {
  for (SharedArray& s : b.shared) std::free(s.ptr);
  b.shared.clear();
  std::free(b.dynamic);
  b.dynamic = nullptr;
}

std::mutex& launch_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}

}  // namespace

bool probing() { return t_probe.active; }

void report_kernel(long long max_threads, bool synchronises) {
  t_probe.reported = true;
  t_probe.max_threads = max_threads;
  t_probe.synchronises = synchronises;
}

[[noreturn]] void device_fault(const char* what) {
  if (t_block) block_fault(*t_block, t_tid, what);
  fatal(what);
}

cudaError_t launch(const LaunchConfig& config, void (*invoke)(void*), void* ctx) {
  const Settings& s = settings();
  if (s.devices == 0) return record(cudaErrorNoDevice);
  if (!valid_stream(config.stream)) return record(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> serial(launch_mutex());  // one launch at a time, process-wide

  t_probe = ProbeResult{};
  t_probe.active = true;
  invoke(ctx);
  t_probe.active = false;
  if (!t_probe.reported)
    fatal(std::string("kernel ") + config.name + " launched at " + config.file + ":" + std::to_string(config.line) +
          " was not rewritten by transform_cu.py (no CUDA_EMU_KERNEL_ENTRY)");

  const dim3 g = config.grid, bd = config.block;
  const unsigned long long nthreads = 1ull * bd.x * bd.y * bd.z;
  if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 2147483647u || g.y > 65535 || g.z > 65535)
    return record(cudaErrorInvalidConfiguration);
  if (nthreads == 0 || nthreads > 1024 || bd.x > 1024 || bd.y > 1024 || bd.z > 64)
    return record(cudaErrorInvalidConfiguration);
  if (t_probe.max_threads > 0 && nthreads > static_cast<unsigned long long>(t_probe.max_threads))
    return record(cudaErrorLaunchOutOfResources);  // more threads than __launch_bounds__ allows
  const int max_dynamic = max_dynamic_smem(config.kernel);
  if (config.dynamic_smem > static_cast<std::size_t>(max_dynamic)) return record(cudaErrorInvalidValue);

  Block b;
  b.config = &config;
  b.nthreads = static_cast<unsigned>(nthreads);
  b.threaded = nthreads > 1 && (t_probe.synchronises || s.always_threads);
  b.fibers = b.threaded && s.fibers;
  b.max_dynamic = max_dynamic;
  if (b.threaded) b.warp_cv.reset(new std::condition_variable[(b.nthreads + 31) / 32]);
  if (b.fibers) FiberPool::fiber_pool().ensure(b.nthreads);
  else if (b.threaded) pool().ensure(b.nthreads);

  for (unsigned z = 0; z < g.z; ++z)
    for (unsigned y = 0; y < g.y; ++y)
      for (unsigned x = 0; x < g.x; ++x) {
        b.index = uint3{x, y, z};
        begin_block(b);
        if (b.fibers) {
          FiberPool::fiber_pool().run_block(b, invoke, ctx);
        } else if (b.threaded) {
          pool().run_block(b, invoke, ctx);
        } else {
          for (unsigned t = 0; t < b.nthreads; ++t) {
            set_builtins(b, t);
            invoke(ctx);
            b.state[t] = ThreadState::Exited;
          }
          t_block = nullptr;
        }
        end_block(b);
      }
  return cudaSuccess;
}

void* block_shared(std::size_t bytes, std::size_t align, const void* key, const char* name) {
  Block* b = t_block;
  if (!b) fatal(std::string("__shared__ ") + name + " declared outside a kernel launch");
  std::unique_lock<std::mutex> lock = block_lock(*b);
  for (const SharedArray& s : b->shared)
    if (s.site == key) {
      if (s.bytes != bytes) block_fault(*b, t_tid, std::string("__shared__ ") + name + " changed size");
      return s.ptr;
    }
  void* p = allocate_filled(bytes, align);
  b->shared.push_back(SharedArray{key, name, p, bytes});
  b->static_bytes += bytes;
  const std::size_t total = b->static_bytes + b->config->dynamic_smem;
  if (b->static_bytes > static_cast<std::size_t>(kDefaultSharedPerBlock))
    block_fault(*b, t_tid, "static __shared__ memory of " + std::to_string(b->static_bytes) +
                               " bytes: over the 48 KB that ptxas accepts");
  const std::size_t limit = b->max_dynamic > kDefaultSharedPerBlock
                                ? static_cast<std::size_t>(settings().smem_optin)
                                : static_cast<std::size_t>(kDefaultSharedPerBlock);
  if (total > limit)
    block_fault(*b, t_tid, "static (" + std::to_string(b->static_bytes) + ") + dynamic (" +
                               std::to_string(b->config->dynamic_smem) + ") shared memory is over the " +
                               std::to_string(limit) + " bytes a block may use: the launch would fail");
  return p;
}

void* dynamic_shared() {
  Block* b = t_block;
  if (!b) fatal("extern __shared__ memory used outside a kernel launch");
  return b->dynamic;
}

void syncthreads(const char* file, int line) {
  Block* bp = t_block;
  if (!bp) fatal(std::string("__syncthreads outside a kernel launch at ") + site(file, line));
  Block& b = *bp;
  const unsigned tid = t_tid;
  if (!b.threaded) {
    if (b.nthreads == 1) return;
    block_fault(b, tid, "__syncthreads at " + site(file, line) +
                            " in a kernel that transform_cu.py classified as never synchronising");
  }
  std::unique_lock<std::mutex> lock = block_lock(b);
  if (b.arrived == 0) {
    b.barrier_file = file;
    b.barrier_line = line;
  } else if (!same_site(b.barrier_file, b.barrier_line, file, line)) {
    block_fault(b, tid, "__syncthreads at " + site(file, line) + " while " + std::to_string(b.arrived) +
                            " threads wait at __syncthreads " + site(b.barrier_file, b.barrier_line) +
                            " (divergent barriers)");
  }
  ++b.arrived;
  if (b.arrived == b.live && b.live < b.nthreads) {
    for (unsigned t = 0; t < b.nthreads; ++t)
      if (b.state[t] == ThreadState::Exited)
        block_fault(b, tid, "__syncthreads at " + site(file, line) + " completes without " + thread_name(b, t) +
                                ", which exited before reaching it (a barrier not reached by the whole block)");
  }
  if (b.arrived == b.live) {
    b.arrived = 0;
    ++b.barrier_generation;
    for (unsigned t = 0; t < b.nthreads; ++t)
      if (b.state[t] == ThreadState::AtBarrier) {
        b.state[t] = ThreadState::Running;
        --b.blocked;
      }
    b.cv.notify_all();
    return;
  }
  b.state[tid] = ThreadState::AtBarrier;
  ++b.blocked;
  check_deadlock(b, tid);
  const std::uint64_t generation = b.barrier_generation;
  block_wait(b, lock, b.cv, [&] { return b.barrier_generation != generation; });
}

std::uint64_t warp_collective(WarpOp op, unsigned mask, std::uint64_t value, int operand, int width, const char* file,
                              int line) {
  Block* bp = t_block;
  if (!bp) fatal(std::string("warp operation outside a kernel launch at ") + site(file, line));
  Block& b = *bp;
  const unsigned tid = t_tid, lane = tid % 32;
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    block_fault(b, tid, "warp operation at " + site(file, line) + " with width " + std::to_string(width) +
                            " (not a power of two up to 32)");
  if (!(mask >> lane & 1u))
    block_fault(b, tid, "warp operation at " + site(file, line) + " with a mask that does not name the calling lane");
  if (!b.threaded) {
    if (b.nthreads != 1)
      block_fault(b, tid, "warp operation at " + site(file, line) +
                              " in a kernel that transform_cu.py classified as never synchronising");
    if (op == WarpOp::Ballot) return value != 0 ? 1u : 0u;
    if (op == WarpOp::Any || op == WarpOp::All) return value != 0;
    if (op == WarpOp::Sync) return 0;
    const int pos = 0;
    const bool own = op == WarpOp::Shfl ? (operand & (width - 1)) == 0
                     : op == WarpOp::Up  ? true
                     : op == WarpOp::Down ? pos + operand >= width || operand == 0
                                          : (operand & 31) == 0 || (operand & 31) >= width;
    return own ? value : ~std::uint64_t{0};
  }
  std::unique_lock<std::mutex> lock = block_lock(b);
  const unsigned warp = tid / 32, first = warp * 32, n = lanes_in_warp(b, warp);
  for (unsigned l = 0; l < n; ++l) {
    const unsigned t = first + l;
    if (t == tid || b.state[t] != ThreadState::AtWarp) continue;
    const Lane& other = b.lanes[t];
    const bool overlap = (mask >> l & 1u) || (other.mask >> lane & 1u);
    if (overlap && (!same_site(other.file, other.line, file, line) || other.op != op))
      block_fault(b, tid, "warp operation at " + site(file, line) + " while lane " + std::to_string(l) +
                              " of the same mask waits at " + site(other.file, other.line) + " (divergent warp)");
  }
  Lane& me = b.lanes[tid];
  me = Lane{op, mask, value, operand, width, file, line, 0, false};
  b.state[tid] = ThreadState::AtWarp;
  ++b.blocked;
  if (!try_complete_warp(b, tid)) {
    check_deadlock(b, tid);
    block_wait(b, lock, b.warp_cv[tid / 32], [&] { return me.done; });
  }
  return me.result;
}

void syncwarp(unsigned mask, const char* file, int line) {
  warp_collective(WarpOp::Sync, mask, 0, 0, 32, file, line);
}

}  // namespace detail

}  // namespace cuda_emu

// ---- the host API ------------------------------------------------------------------------

using cuda_emu::record;
using cuda_emu::settings;

namespace {

cudaError_t need_device() { return settings().devices == 0 ? record(cudaErrorNoDevice) : cudaSuccess; }

}  // namespace

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record(cudaErrorInvalidValue);
  *count = settings().devices;
  return need_device();
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return record(cudaErrorInvalidValue);
  *device = 0;
  return need_device();
}

cudaError_t cudaSetDevice(int device) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!prop) return record(cudaErrorInvalidValue);
  if (device != 0) return record(cudaErrorInvalidDevice);
  const auto& s = settings();
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "CUDA emulation on the host CPU (%d SMs)", s.sms);
  prop->totalGlobalMem = std::size_t{80} << 30;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = static_cast<std::size_t>(s.smem_optin);
  prop->sharedMemPerMultiprocessor = static_cast<std::size_t>(s.smem_optin) + 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->multiProcessorCount = s.sms;
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!value) return record(cudaErrorInvalidValue);
  if (device != 0) return record(cudaErrorInvalidDevice);
  const auto& s = settings();
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX:
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 2147483647; break;
    case cudaDevAttrMaxGridDimY:
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = s.sms; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = 2048; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = s.smem_optin + 1024; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = s.smem_optin; break;
    default: return record(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return record(cudaErrorInvalidValue);
  *version = 12080;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (!version) return record(cudaErrorInvalidValue);
  *version = settings().devices ? 12080 : 0;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return need_device(); }

cudaError_t cudaDeviceReset() { return need_device(); }

cudaError_t cudaGetLastError() {
  const cudaError_t e = cuda_emu::t_last_error;
  cuda_emu::t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return cuda_emu::t_last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define CUDA_EMU_NAME(e) \
  case e: return #e;
    CUDA_EMU_NAME(cudaSuccess)
    CUDA_EMU_NAME(cudaErrorInvalidValue)
    CUDA_EMU_NAME(cudaErrorMemoryAllocation)
    CUDA_EMU_NAME(cudaErrorInitializationError)
    CUDA_EMU_NAME(cudaErrorInvalidConfiguration)
    CUDA_EMU_NAME(cudaErrorInvalidDevicePointer)
    CUDA_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    CUDA_EMU_NAME(cudaErrorInsufficientDriver)
    CUDA_EMU_NAME(cudaErrorInvalidDeviceFunction)
    CUDA_EMU_NAME(cudaErrorNoDevice)
    CUDA_EMU_NAME(cudaErrorInvalidDevice)
    CUDA_EMU_NAME(cudaErrorInvalidResourceHandle)
    CUDA_EMU_NAME(cudaErrorNotReady)
    CUDA_EMU_NAME(cudaErrorIllegalAddress)
    CUDA_EMU_NAME(cudaErrorLaunchOutOfResources)
    CUDA_EMU_NAME(cudaErrorLaunchFailure)
    CUDA_EMU_NAME(cudaErrorNotSupported)
    CUDA_EMU_NAME(cudaErrorUnknown)
#undef CUDA_EMU_NAME
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unrecognized error code";
}

cudaError_t cudaMalloc(void** ptr, std::size_t size) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!ptr) return record(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  if (size > (std::size_t{1} << 40)) return record(cudaErrorMemoryAllocation);
  void* p = nullptr;
  if (posix_memalign(&p, 256, size) != 0 || !p) return record(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, size);  // never-written device memory reads as NaN
  {
    auto& mem = cuda_emu::memory();
    std::lock_guard<std::mutex> lock(mem.m);
    mem.allocations[reinterpret_cast<std::uintptr_t>(p)] = size;
  }
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  {
    auto& mem = cuda_emu::memory();
    std::lock_guard<std::mutex> lock(mem.m);
    auto it = mem.allocations.find(reinterpret_cast<std::uintptr_t>(ptr));
    if (it == mem.allocations.end()) return record(cudaErrorInvalidValue);
    mem.allocations.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

namespace {

cudaError_t copy(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!cuda_emu::valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  if (count == 0) return cudaSuccess;
  if (!dst || !src) return record(cudaErrorInvalidValue);
  bool dst_device = false, src_device = false;
  switch (kind) {
    case cudaMemcpyHostToHost: break;
    case cudaMemcpyHostToDevice: dst_device = true; break;
    case cudaMemcpyDeviceToHost: src_device = true; break;
    case cudaMemcpyDeviceToDevice: dst_device = src_device = true; break;
    case cudaMemcpyDefault:
      dst_device = cuda_emu::device_pointer(dst);
      src_device = cuda_emu::device_pointer(src);
      break;
    default: return record(cudaErrorInvalidMemcpyDirection);
  }
  if ((dst_device && !cuda_emu::device_range(dst, count)) || (src_device && !cuda_emu::device_range(src, count)))
    return record(cudaErrorInvalidValue);
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t fill(void* ptr, int value, std::size_t count, cudaStream_t stream) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!cuda_emu::valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  if (count == 0) return cudaSuccess;
  if (!cuda_emu::device_range(ptr, count)) return record(cudaErrorInvalidValue);
  std::memset(ptr, value, count);
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind) {
  return copy(dst, src, count, kind, nullptr);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t count, cudaMemcpyKind kind, cudaStream_t stream) {
  return copy(dst, src, count, kind, stream);
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t count) { return fill(ptr, value, count, nullptr); }

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t count, cudaStream_t stream) {
  return fill(ptr, value, count, stream);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!stream || (flags & ~1u) != 0) return record(cudaErrorInvalidValue);
  // A distinct address per stream; the object itself is never read.
  auto* token = reinterpret_cast<cudaStream_t>(new char[1]);
  cuda_emu::streams().add(token);
  *stream = token;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return record(cudaErrorInvalidResourceHandle);
  if (!cuda_emu::streams().remove(stream)) return record(cudaErrorInvalidResourceHandle);
  delete[] reinterpret_cast<char*>(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  return cuda_emu::valid_stream(stream) ? cudaSuccess : record(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }

cudaError_t cudaFuncSetAttribute(const void* func, cudaFuncAttribute attr, int value) {
  if (need_device() != cudaSuccess) return cudaErrorNoDevice;
  if (!func) return record(cudaErrorInvalidDeviceFunction);
  switch (attr) {
    case cudaFuncAttributeMaxDynamicSharedMemorySize: {
      if (value < 0 || value > settings().smem_optin) return record(cudaErrorInvalidValue);
      auto& a = cuda_emu::attributes();
      std::lock_guard<std::mutex> lock(a.m);
      a.max_dynamic_smem[func] = value;
      return cudaSuccess;
    }
    case cudaFuncAttributePreferredSharedMemoryCarveout:
      return (value < -1 || value > 100) ? record(cudaErrorInvalidValue) : cudaSuccess;
  }
  return record(cudaErrorInvalidValue);
}
