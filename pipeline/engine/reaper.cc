#include "pipeline/engine/reaper.h"

namespace clearlane {

Reaper::Reaper() : thread_([this] { Loop(); }) {}

Reaper::~Reaper() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void Reaper::Post(absl::AnyInvocable<void() &&> free) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() < kBacklog) {
      queue_.push_back(std::move(free));
      return;
    }
  }
  std::move(free)();  // the reaper is behind: free it here
}

void Reaper::Loop() {
  absl::MutexLock lock(&mu_);
  auto work = [&] {
    mu_.AssertReaderHeld();
    return stop_ || !queue_.empty();
  };
  while (true) {
    mu_.Await(absl::Condition(&work));
    if (queue_.empty()) return;  // stopping, and nothing is left
    absl::AnyInvocable<void() &&> free = std::move(queue_.front());
    queue_.pop_front();
    mu_.Unlock();
    std::move(free)();
    free = nullptr;  // the closure, and what it held, go here
    mu_.Lock();
  }
}

}  // namespace clearlane
