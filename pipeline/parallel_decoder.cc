#include "pipeline/parallel_decoder.h"

namespace clearlane {
namespace {

// Records a thread claims at a time: enough to amortise the atomic, small
// enough to balance.
constexpr size_t kChunk = 32;

}  // namespace

ParallelDecoder::ParallelDecoder(int threads) {
  for (int i = 0; i < threads; ++i) {
    decoders_.push_back(std::make_unique<Decoder>());
  }
  for (int i = 1; i < threads; ++i) {
    threads_.emplace_back([this, i] { Worker(i); });
  }
}

ParallelDecoder::~ParallelDecoder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void ParallelDecoder::Work(Decoder& decoder) {
  while (true) {
    const size_t begin = next_.fetch_add(kChunk);
    if (begin >= count_) return;
    const size_t end = std::min(count_, begin + kChunk);
    for (size_t i = begin; i < end; ++i) {
      DecodedRecord& r = (*records_)[i];
      r.outcome = decoder.Decode(r.bytes, r.size, &r.doc);
      if (r.outcome.ok()) RelocateDocument(&r.doc, &r.storage);
    }
  }
}

void ParallelDecoder::Worker(int index) {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    Work(*decoders_[index]);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

void ParallelDecoder::DecodeAll(std::vector<DecodedRecord>& records, size_t n) {
  records_ = &records;
  count_ = n;
  next_.store(0);
  {
    std::lock_guard<std::mutex> lock(mu_);
    busy_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  start_.notify_all();
  Work(*decoders_[0]);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return busy_ == 0; });
}

}  // namespace clearlane
