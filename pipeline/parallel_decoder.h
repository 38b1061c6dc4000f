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

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "model/decode.h"
#include "pipeline/hmac.h"
#include "pipeline/ndjson_reader.h"

namespace clearlane {

struct DecodedRecord {
  int64_t line = 0;
  uint64_t end_offset = 0;
  std::string bytes;  // the record (or the head of an over-long one)
  size_t size = 0;    // its full length
  DecodeOutcome outcome = DecodeOutcome::Accepted();
  Document doc;
  std::string storage;  // the document's text
  // The document's state form (model/document_codec.h), when the decoder
  // was given the state's secret; else empty. The engine moves it into
  // state when it processes the record, hence mutable.
  mutable std::string state_form;
};

class ParallelDecoder {
 public:
  // `threads` >= 1; the calling thread is one of them. With a `secret`,
  // each record also gets its state form, personal fields hashed under it.
  explicit ParallelDecoder(int threads, std::string_view secret = {});
  ~ParallelDecoder();

  // Decodes records[0, n).
  void DecodeAll(std::vector<DecodedRecord>& records, size_t n);

 private:
  void Work(int index);
  void Worker(int index);

  std::vector<std::unique_ptr<Decoder>> decoders_;
  std::vector<std::unique_ptr<Hmac>> hmacs_;  // one per thread, with a secret
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

// DecodeAhead reads and decodes a file's records ahead of the engine, on
// threads of its own, so that the engine's thread only processes: while it
// processes one batch, the next ones are read and decoded. Batches come out
// in file order, each record in its own DecodedRecord as above.
//
// Thread-safety: Next is called from one thread.
class DecodeAhead {
 public:
  // Takes `reader` (already positioned); decodes on `threads` >= 1 threads,
  // none of them the caller's; `secret` as for ParallelDecoder.
  DecodeAhead(std::unique_ptr<NdjsonReader> reader, int threads,
              std::string_view secret = {});
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  // The next batch of decoded records, valid until the next call; empty at
  // the end of the file or on a read error (then status() is not ok).
  absl::Span<const DecodedRecord> Next();
  absl::Status status();

 private:
  struct Batch {
    std::vector<DecodedRecord> records;  // sized once; `count` are filled
    size_t count = 0;
  };
  void Fill();

  std::unique_ptr<NdjsonReader> reader_;  // the filler's only
  ParallelDecoder decoder_;               // driven by the filler
  std::vector<Batch> ring_;
  std::mutex mu_;
  std::condition_variable changed_;
  size_t filled_ = 0;    // batches filled so far; guarded by mu_
  size_t consumed_ = 0;  // batches handed out so far; guarded by mu_
  bool ended_ = false;   // the filler reached the end; guarded by mu_
  bool stop_ = false;    // guarded by mu_
  absl::Status status_;  // the reader's, once ended_; guarded by mu_
  std::thread filler_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_PARALLEL_DECODER_H_
