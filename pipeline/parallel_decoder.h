// ParallelDecoder decodes a batch of records on several threads. Each
// record's outcome and document are its own (the document is relocated
// into the record's storage), so the engine can then process the batch one
// record at a time, in order: the outputs never depend on the number of
// threads.
//
// Thread-safety: DecodeAll is called from one thread at a time.

#ifndef CLEARLANE_PIPELINE_PARALLEL_DECODER_H_
#define CLEARLANE_PIPELINE_PARALLEL_DECODER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/decode.h"

namespace clearlane {

struct DecodedRecord {
  int64_t line = 0;
  uint64_t end_offset = 0;
  std::string bytes;  // the record (or the head of an over-long one)
  size_t size = 0;    // its full length
  DecodeOutcome outcome = DecodeOutcome::Accepted();
  Document doc;
  std::string storage;  // the document's text
};

class ParallelDecoder {
 public:
  // `threads` >= 1; the calling thread is one of them.
  explicit ParallelDecoder(int threads);
  ~ParallelDecoder();

  // Decodes records[0, n).
  void DecodeAll(std::vector<DecodedRecord>& records, size_t n);

 private:
  void Work(Decoder& decoder);
  void Worker(int index);

  std::vector<std::unique_ptr<Decoder>> decoders_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;  // guarded by mu_
  int busy_ = 0;             // guarded by mu_
  bool stop_ = false;        // guarded by mu_
  std::vector<DecodedRecord>* records_ = nullptr;
  size_t count_ = 0;
  std::atomic<size_t> next_{0};
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_PARALLEL_DECODER_H_
