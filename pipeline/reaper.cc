#include "pipeline/reaper.h"

namespace clearlane {

Reaper::Reaper() : thread_([this] { Loop(); }) {}

Reaper::~Reaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_one();
  thread_.join();
}

void Reaper::Post(absl::AnyInvocable<void() &&> free) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() < kBacklog) {
      queue_.push_back(std::move(free));
      free = nullptr;
    }
  }
  if (free) {
    std::move(free)();  // the reaper is behind: free it here
  } else {
    changed_.notify_one();
  }
}

void Reaper::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing is left
    absl::AnyInvocable<void() &&> free = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    std::move(free)();
    free = nullptr;  // the closure, and what it held, go here
    lock.lock();
  }
}

}  // namespace clearlane
