#include "pipeline/parallel_decoder.h"

#include "model/document_codec.h"

namespace clearlane {
namespace {

// Records a thread claims at a time: enough to amortise the atomic, small
// enough to balance.
constexpr size_t kChunk = 32;

// DecodeAhead: records per batch, and batches in the ring (one being
// processed, the others read and decoded ahead).
constexpr size_t kAheadRecords = 2048;
constexpr size_t kRing = 3;

}  // namespace

ParallelDecoder::ParallelDecoder(int threads, std::string_view secret) {
  for (int i = 0; i < threads; ++i) {
    decoders_.push_back(std::make_unique<Decoder>());
    if (!secret.empty()) hmacs_.push_back(std::make_unique<Hmac>(secret));
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

void ParallelDecoder::Work(int index) {
  Decoder& decoder = *decoders_[index];
  Hmac* hmac = hmacs_.empty() ? nullptr : hmacs_[index].get();
  while (true) {
    const size_t begin = next_.fetch_add(kChunk);
    if (begin >= count_) return;
    const size_t end = std::min(count_, begin + kChunk);
    for (size_t i = begin; i < end; ++i) {
      DecodedRecord& r = (*records_)[i];
      r.outcome = decoder.Decode(r.bytes, r.size, &r.doc);
      r.state_form.clear();
      if (!r.outcome.ok()) continue;
      RelocateDocument(&r.doc, &r.storage);
      if (hmac) {
        r.state_form = EncodeDocument(
            r.doc, [hmac](std::string_view v) { return (*hmac)(v); });
      }
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
    Work(index);
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
  Work(0);
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return busy_ == 0; });
}

DecodeAhead::DecodeAhead(std::unique_ptr<NdjsonReader> reader, int threads,
                         std::string_view secret)
    : reader_(std::move(reader)), decoder_(threads, secret), ring_(kRing) {
  for (Batch& b : ring_) b.records.resize(kAheadRecords);
  filler_ = std::thread([this] { Fill(); });
}

DecodeAhead::~DecodeAhead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  filler_.join();
}

void DecodeAhead::Fill() {
  while (true) {
    Batch* batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      // The batch handed out last is still being processed.
      changed_.wait(lock, [&] {
        const size_t in_use = consumed_ == 0 ? 0 : consumed_ - 1;
        return stop_ || filled_ - in_use < kRing;
      });
      if (stop_) return;
      batch = &ring_[filled_ % kRing];
    }
    NdjsonReader::Record record;
    size_t n = 0;
    bool more = true;
    while (n < kAheadRecords && (more = reader_->Next(&record))) {
      DecodedRecord& r = batch->records[n++];
      r.line = record.line;
      r.end_offset = record.end_offset;
      r.bytes.assign(record.bytes);
      r.size = record.size;
    }
    decoder_.DecodeAll(batch->records, n);
    batch->count = n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (n > 0) ++filled_;
      if (!more) {
        ended_ = true;
        status_ = reader_->status();
      }
    }
    changed_.notify_all();
    if (!more) return;
  }
}

absl::Span<const DecodedRecord> DecodeAhead::Next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (consumed_ > 0) changed_.notify_all();  // the last batch is free now
  ++consumed_;
  changed_.wait(lock, [&] { return filled_ >= consumed_ || ended_; });
  if (filled_ < consumed_) {
    --consumed_;
    return {};
  }
  const Batch& b = ring_[(consumed_ - 1) % kRing];
  return absl::MakeConstSpan(b.records.data(), b.count);
}

absl::Status DecodeAhead::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace clearlane
