// Reaper frees memory on a thread of its own. The engine's thread hands it
// what it no longer needs (the cache entries it forgot, the outputs of a
// landed epoch) instead of running their destructors itself: on the
// 1,000,000-order day those destructors were a tenth of that thread's
// time, and the engine's thread is the one every record waits for.
//
// Thread-safety: Dispose may be called from one thread at a time.

#ifndef CLEARLANE_PIPELINE_ENGINE_REAPER_H_
#define CLEARLANE_PIPELINE_ENGINE_REAPER_H_

#include <deque>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace clearlane {

class Reaper {
 public:
  Reaper();
  // Frees whatever is still waiting, then stops the thread.
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Takes `garbage` and destroys it on the reaper's thread. If that thread
  // is behind by more than kBacklog handoffs, the caller destroys it
  // instead, so memory waiting to be freed stays bounded.
  template <class T>
  void Dispose(T garbage) {
    Post([g = std::move(garbage)]() mutable { T(std::move(g)); });
  }

 private:
  // Handoffs waiting, at most: a few epochs' worth.
  static constexpr size_t kBacklog = 8;
  void Post(absl::AnyInvocable<void() &&> free);
  void Loop();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_REAPER_H_
