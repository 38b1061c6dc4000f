#include "pipeline/engine/decoder.h"

#include <algorithm>
#include <cstring>

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

// The record at (*out)[*n], which it makes room for and counts.
DecodedRecord& Append(std::vector<DecodedRecord>* out, size_t* n) {
  if (*n == out->size()) out->emplace_back();
  return (*out)[(*n)++];
}

// `fields` copied into *out, their names and texts into *text: the
// reader's buffers they view are reused by its next message.
void CopyFields(std::span<const TextField> fields, std::vector<TextField>* out,
                std::string* text) {
  size_t size = 0;
  for (const TextField& f : fields) size += f.name.size() + f.text.size();
  text->resize(size);
  out->assign(fields.begin(), fields.end());
  char* at = text->data();
  auto copy = [&at](std::string_view* v) {
    if (!v->empty()) std::memcpy(at, v->data(), v->size());
    *v = std::string_view(at, v->size());
    at += v->size();
  };
  for (TextField& f : *out) {
    copy(&f.name);
    copy(&f.text);
  }
}

}  // namespace

void ReadXmlRecords(XmlReader& reader, std::string_view message, size_t size,
                    const RecordOrigin& origin, int64_t skip,
                    std::vector<DecodedRecord>* out, size_t* n) {
  XmlMessage read;
  DecodeOutcome outcome = reader.Read(message, size, &read);
  if (!outcome.ok()) {
    DecodedRecord& r = Append(out, n);
    SetJsonRecord(&r, origin, message, size);
    r.judged = true;
    r.outcome = std::move(outcome);
    return;
  }
  const size_t count = read.records.size();
  for (size_t i = std::max<int64_t>(skip, 0); i < count; ++i) {
    DecodedRecord& r = Append(out, n);
    XmlRecord& record = read.records[i];
    SetJsonRecord(&r, origin, record.raw, record.raw.size());
    r.origin.record = static_cast<int32_t>(i + 1);
    r.origin.last = i + 1 == count;
    r.xml = read.type;
    CopyFields(record.fields, &r.fields, &r.field_text);
  }
}

ParallelDecoder::ParallelDecoder(int threads, std::string_view secret,
                                 bool caller_decodes)
    : first_worker_(caller_decodes ? 1 : 0) {
  for (int i = 0; i < threads; ++i) {
    decoders_.push_back(std::make_unique<Decoder>());
    if (!secret.empty()) hashes_.push_back(std::make_unique<KeyedHash>(secret));
  }
  for (int i = first_worker_; i < threads; ++i) {
    threads_.emplace_back([this, i] { Worker(i); });
  }
}

ParallelDecoder::~ParallelDecoder() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

void ParallelDecoder::Work(int index) {
  Decoder& decoder = *decoders_[index];
  KeyedHash* hash = hashes_.empty() ? nullptr : hashes_[index].get();
  while (true) {
    const size_t begin = next_.fetch_add(kChunk);
    if (begin >= count_) return;
    const size_t end = std::min(count_, begin + kChunk);
    for (size_t i = begin; i < end; ++i) {
      DecodedRecord& r = (*records_)[i];
      r.state_form.clear();
      if (r.size == 0 || r.judged) continue;  // nothing to decode
      r.outcome = r.xml ? decoder.DecodeFields(*r.xml, r.fields, &r.doc)
                        : decoder.Decode(r.bytes, r.size, &r.doc);
      if (!r.outcome.ok()) continue;
      RelocateDocument(&r.doc, &r.storage);
      if (hash) {
        r.state_form = EncodeDocument(
            r.doc, [hash](std::string_view v) { return (*hash)(v); });
      }
    }
  }
}

void ParallelDecoder::Worker(int index) {
  uint64_t seen = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto started = [&] {
        mu_.AssertReaderHeld();
        return stop_ || generation_ != seen;
      };
      mu_.Await(absl::Condition(&started));
      if (stop_) return;
      seen = generation_;
    }
    Work(index);
    absl::MutexLock lock(&mu_);
    --busy_;
  }
}

void ParallelDecoder::DecodeAll(std::vector<DecodedRecord>& records, size_t n) {
  Start(records, n);
  if (first_worker_ == 1) Work(0);
  Wait();
}

void ParallelDecoder::Start(std::vector<DecodedRecord>& records, size_t n) {
  records_ = &records;
  count_ = n;
  next_.store(0);
  absl::MutexLock lock(&mu_);
  busy_ = static_cast<int>(threads_.size());
  ++generation_;
}

void ParallelDecoder::Wait() {
  absl::MutexLock lock(&mu_);
  auto done = [&] {
    mu_.AssertReaderHeld();
    return busy_ == 0;
  };
  mu_.Await(absl::Condition(&done));
}

DecodeAhead::DecodeAhead(std::unique_ptr<RecordReader> reader, int threads,
                         std::string_view secret)
    : reader_(std::move(reader)), decoder_(threads, secret), ring_(kRing) {
  for (Batch& b : ring_) b.records.resize(kAheadRecords);
  filler_ = std::thread([this] { Fill(); });
}

DecodeAhead::~DecodeAhead() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  filler_.join();
}

void DecodeAhead::Fill() {
  while (true) {
    Batch* batch;
    {
      absl::MutexLock lock(&mu_);
      // The batch handed out last is still being processed.
      auto room = [&] {
        mu_.AssertReaderHeld();
        const size_t in_use = consumed_ == 0 ? 0 : consumed_ - 1;
        return stop_ || filled_ - in_use < kRing;
      };
      mu_.Await(absl::Condition(&room));
      if (stop_) return;
      batch = &ring_[filled_ % kRing];
    }
    size_t n = 0;
    bool more = true;
    while (n < kAheadRecords && (more = reader_->Next(&batch->records[n]))) {
      ++n;
    }
    decoder_.DecodeAll(batch->records, n);
    batch->count = n;
    absl::MutexLock lock(&mu_);
    if (n > 0) ++filled_;
    if (!more) {
      ended_ = true;
      status_ = reader_->status();
      return;
    }
  }
}

absl::Span<DecodedRecord> DecodeAhead::Next() {
  absl::MutexLock lock(&mu_);
  ++consumed_;  // the last batch is free now
  auto ready = [&] {
    mu_.AssertReaderHeld();
    return filled_ >= consumed_ || ended_;
  };
  mu_.Await(absl::Condition(&ready));
  if (filled_ < consumed_) {
    --consumed_;
    return {};
  }
  Batch& b = ring_[(consumed_ - 1) % kRing];
  return absl::MakeSpan(b.records.data(), b.count);
}

absl::Status DecodeAhead::status() {
  absl::MutexLock lock(&mu_);
  return status_;
}

}  // namespace clearlane
