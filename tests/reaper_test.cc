// The reaper frees what the engine's thread hands it on its own thread,
// frees everything before it stops, and never lets its backlog grow
// without bound.

#include "pipeline/engine/reaper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace clearlane {
namespace {

// Records the thread that destroys it (only the last owner of a moved
// object counts), and can hold that thread until released.
struct Freed {
  std::mutex mu;
  std::vector<std::thread::id> by;
  std::promise<void> entered;
  std::shared_future<void> release;
};

class Marker {
 public:
  explicit Marker(Freed* freed, bool hold = false)
      : freed_(freed), hold_(hold) {}
  Marker(Marker&& other) noexcept
      : freed_(std::exchange(other.freed_, nullptr)), hold_(other.hold_) {}
  Marker& operator=(Marker&&) = delete;
  ~Marker() {
    if (!freed_) return;
    if (hold_) {
      freed_->entered.set_value();
      freed_->release.wait();
    }
    std::lock_guard<std::mutex> lock(freed_->mu);
    freed_->by.push_back(std::this_thread::get_id());
  }

 private:
  Freed* freed_;
  bool hold_;
};

TEST(ReaperTest, FreesOnItsOwnThread) {
  Freed freed;
  {
    Reaper reaper;
    for (int i = 0; i < 5; ++i) reaper.Dispose(Marker(&freed));
  }
  ASSERT_EQ(freed.by.size(), 5u);
  for (std::thread::id id : freed.by) {
    EXPECT_NE(id, std::this_thread::get_id());
  }
}

TEST(ReaperTest, FreesEverythingBeforeItStops) {
  Freed freed;
  {
    Reaper reaper;
    for (int i = 0; i < 200; ++i) {
      std::vector<Marker> batch;
      batch.emplace_back(&freed);
      batch.emplace_back(&freed);
      reaper.Dispose(std::move(batch));
    }
  }
  EXPECT_EQ(freed.by.size(), 400u);
}

TEST(ReaperTest, WhenBehindTheCallerFrees) {
  Freed held;
  std::promise<void> release;
  held.release = release.get_future().share();
  std::future<void> entered = held.entered.get_future();
  Freed freed;
  {
    Reaper reaper;
    reaper.Dispose(Marker(&held, /*hold=*/true));
    entered.wait();  // the reaper's thread is now stuck in that destructor
    for (int i = 0; i < 30; ++i) reaper.Dispose(Marker(&freed));
    {
      std::lock_guard<std::mutex> lock(freed.mu);
      // All but the backlog were freed by this thread, at once.
      EXPECT_GE(freed.by.size(), 30u - 8u);
      for (std::thread::id id : freed.by) {
        EXPECT_EQ(id, std::this_thread::get_id());
      }
    }
    release.set_value();
  }
  EXPECT_EQ(freed.by.size(), 30u);
  EXPECT_EQ(held.by.size(), 1u);
}

}  // namespace
}  // namespace clearlane
