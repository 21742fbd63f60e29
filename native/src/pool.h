// A persistent pool of worker threads for the addon's ParallelFor. Creating and joining a
// std::thread per call cost ~30-40 us here, and a ddim run makes ~60 parallel calls per UNet
// pass. Workers spin briefly after each task (the next call usually follows within microseconds),
// then sleep on a condition variable so they do not take a core from OpenBLAS or other work.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GENLAB_PAUSE() _mm_pause()
#else
#define GENLAB_PAUSE() std::this_thread::yield()
#endif

namespace pool {

class Pool {
 public:
  // Threads that share a call, the caller included (>= 1).
  void SetThreads(int n) {
    if (n < 1) n = 1;
    if (n > kMax) n = kMax;
    std::lock_guard<std::mutex> lk(m_);
    threads_ = n;
    for (; workers_ < n - 1; ++workers_) std::thread([this, id = workers_] { Loop(id); }).detach();
  }
  int Threads() const { return threads_; }

  // Calls fn(part) for every part in [0, parts): part 0 on the calling thread, the others on
  // workers. All on the caller, one after another, when parts > Threads() or the pool is already
  // busy (a nested or concurrent call).
  template <typename F>
  void Run(int parts, F& fn) {
    if (parts < 2 || parts > threads_ || busy_.exchange(true, std::memory_order_acquire)) {
      for (int p = 0; p < parts; ++p) fn(p);
      return;
    }
    struct Ctx { F* fn; } ctx{&fn};
    const uint64_t e = ++epoch_;
    {
      std::lock_guard<std::mutex> lk(m_);
      for (int w = 0; w < parts - 1; ++w) {
        Slot& s = slots_[w];
        s.call = [](void* c, int part) { (*static_cast<Ctx*>(c)->fn)(part); };
        s.ctx = &ctx;
        s.go.store(e, std::memory_order_release);
      }
    }
    cv_.notify_all();
    fn(0);
    for (int w = 0; w < parts - 1; ++w)
      for (int spins = 0; slots_[w].done.load(std::memory_order_acquire) != e; ++spins) {
        if (spins < 4096) GENLAB_PAUSE();
        else std::this_thread::yield();
      }
    busy_.store(false, std::memory_order_release);
  }

 private:
  static constexpr int kMax = 64;
  struct alignas(64) Slot {
    std::atomic<uint64_t> go{0}, done{0};
    void (*call)(void*, int) = nullptr;
    void* ctx = nullptr;
  };

  void Loop(int id) {
    Slot& s = slots_[id];
    uint64_t seen = s.go.load(std::memory_order_acquire);
    for (;;) {
      // spin ~50 us for the next task, then sleep
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
      for (int i = 0; s.go.load(std::memory_order_acquire) == seen; ++i) {
        GENLAB_PAUSE();
        if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) {
          std::unique_lock<std::mutex> lk(m_);
          cv_.wait(lk, [&] { return s.go.load(std::memory_order_acquire) != seen; });
        }
      }
      seen = s.go.load(std::memory_order_acquire);
      s.call(s.ctx, id + 1);
      s.done.store(seen, std::memory_order_release);
    }
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<bool> busy_{false};
  uint64_t epoch_ = 0;
  Slot slots_[kMax];
  int threads_ = 1;
  int workers_ = 0;
};

inline Pool& Get() {
  static Pool* p = new Pool();  // never destroyed: detached workers may outlive static destructors
  return *p;
}

}  // namespace pool
