// The decoder threads: records decoded off the engine's thread, each with
// its state form (model/document_codec.h: its personal fields keyed-hashed
// under the state's secret) prepared beside it, so that the engine's
// thread only processes.
//
// ParallelDecoder decodes a batch of records on several threads. Each
// record's outcome and document are its own (the document is relocated
// into the record's storage), so the engine then processes the batch one
// record at a time, in order: the outputs never depend on the number of
// threads. DecodeAhead reads and decodes ahead of the engine, on threads
// of its own, from any RecordReader (a file, in replay).
//
// Thread-safety: ParallelDecoder::DecodeAll is called from one thread at a
// time; DecodeAhead::Next from one thread.

#ifndef CLEARLANE_PIPELINE_ENGINE_DECODER_H_
#define CLEARLANE_PIPELINE_ENGINE_DECODER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "model/decode.h"
#include "model/keyed_hash.h"
#include "model/xml_message.h"

namespace clearlane {

// Where a record came from, in its driver's terms.
struct RecordOrigin {
  int32_t input = 0;      // the driver's input: a file's index, a topic's
  int32_t partition = 0;  // the Kafka partition; 0 for a file
  int64_t offset = 0;     // the Kafka offset, or a file's 1-based line
  uint64_t end = 0;       // a file's byte offset just past the record
  int64_t end_line = 0;   // a file's lines before `end`
  // A record of a CEB XML message (contract §11): its 1-based number in
  // the message and whether it is the message's last; then `offset` (in a
  // file, the message's first line) and `end` are the message's, and
  // `start` is a file's byte offset at which the message begins. 0 and
  // true for a record that is a whole JSON document or a whole message.
  int32_t record = 0;
  bool last = true;
  uint64_t start = 0;
};

struct DecodedRecord {
  RecordOrigin origin;
  std::string bytes;  // the record (or the head of an over-long one)
  size_t size = 0;    // its full length; 0: no document (a Kafka tombstone)
  // A record of an XML message: its type and fields, which are what is
  // decoded (`bytes` holds its XML text, for its dead letter), their names
  // and texts held in `field_text`. No type: a JSON record.
  std::optional<DocType> xml;
  std::vector<TextField> fields;
  std::string field_text;
  // The outcome is known without decoding: a whole XML message rejected,
  // or no document at all (a record of the exchange).
  bool judged = false;
  // A record of the exchange between stages A and B (Kafka mode,
  // operators/allowance.h), not a document: which of its topics it came
  // from, and its writer's stamp (writer_stamp.h), `bytes` holding what
  // the stamp stamps.
  enum class Exchange : uint8_t { kNone, kAllowance, kAnswers, kClosedLists };
  Exchange exchange = Exchange::kNone;
  int32_t writer = -1;
  int64_t seq = -1;
  DecodeOutcome outcome = DecodeOutcome::Accepted();
  Document doc;
  std::string storage;  // the document's text
  // The document's state form, when the decoder was given the state's
  // secret; else empty. The task moves it into state.
  std::string state_form;
};

// Reads the CEB XML message `message` (its full length `size`; a longer one
// than kMaxXmlMessageBytes may come as its head) that came from `origin`
// into the records it carries, each with its number, its XML text and its
// fields, stored in (*out)[*n] on (growing *out as needed, *n counting),
// except the first `skip` (processed before a restart). A message rejected
// as a whole is one record, already judged.
void ReadXmlRecords(XmlReader& reader, std::string_view message, size_t size,
                    const RecordOrigin& origin, int64_t skip,
                    std::vector<DecodedRecord>* out, size_t* n);

// A record of a JSON document, its XML fields cleared (for a reused record).
inline void SetJsonRecord(DecodedRecord* r, const RecordOrigin& origin,
                          std::string_view bytes, size_t size) {
  r->origin = origin;
  r->bytes.assign(bytes);
  r->size = size;
  r->xml.reset();
  r->judged = false;
  r->exchange = DecodedRecord::Exchange::kNone;
  r->writer = -1;
  r->seq = -1;
}

class ParallelDecoder {
 public:
  // `threads` >= 1; with `caller_decodes`, the calling thread is one of
  // them, else they are all the decoder's own. With a `secret`, each
  // record also gets its state form, personal fields hashed under it.
  explicit ParallelDecoder(int threads, std::string_view secret = {},
                           bool caller_decodes = true);
  ~ParallelDecoder();
  ParallelDecoder(const ParallelDecoder&) = delete;
  ParallelDecoder& operator=(const ParallelDecoder&) = delete;

  // Decodes records[0, n).
  void DecodeAll(std::vector<DecodedRecord>& records, size_t n);
  // Starts decoding records[0, n) on the decoder's own threads and
  // returns (made without `caller_decodes`); Wait waits for it. The
  // records are the decoder's until then.
  void Start(std::vector<DecodedRecord>& records, size_t n);
  void Wait();

 private:
  void Work(int index);
  void Worker(int index);

  std::vector<std::unique_ptr<Decoder>> decoders_;
  // One per thread, with a secret.
  std::vector<std::unique_ptr<KeyedHash>> hashes_;
  // The index of the first of threads_ (1 when the caller is the 0th).
  int first_worker_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int busy_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // The batch being decoded; set before a generation starts.
  std::vector<DecodedRecord>* records_ = nullptr;
  size_t count_ = 0;
  std::atomic<size_t> next_{0};
};

// Where DecodeAhead reads raw records.
class RecordReader {
 public:
  virtual ~RecordReader() = default;
  // Fills the next record's origin, bytes and size; false at the end of
  // the input or on a read error (then status() is not ok).
  virtual bool Next(DecodedRecord* record) = 0;
  virtual absl::Status status() const = 0;
};

// DecodeAhead reads and decodes records ahead of the engine, on threads of
// its own: while the engine processes one batch, the next ones are read
// and decoded. Batches come out in input order.
class DecodeAhead {
 public:
  // Takes `reader` (already positioned); decodes on `threads` >= 1
  // threads, none of them the caller's; `secret` as for ParallelDecoder.
  DecodeAhead(std::unique_ptr<RecordReader> reader, int threads,
              std::string_view secret = {});
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  // The next batch of decoded records, the caller's until the next call;
  // empty at the end of the input or on a read error (then status() is
  // not ok).
  absl::Span<DecodedRecord> Next();
  absl::Status status();

 private:
  struct Batch {
    std::vector<DecodedRecord> records;  // sized once; `count` are filled
    size_t count = 0;
  };
  void Fill();

  std::unique_ptr<RecordReader> reader_;  // the filler's only
  ParallelDecoder decoder_;               // driven by the filler
  std::vector<Batch> ring_;
  absl::Mutex mu_;
  size_t filled_ ABSL_GUARDED_BY(mu_) = 0;    // batches filled so far
  size_t consumed_ ABSL_GUARDED_BY(mu_) = 0;  // batches handed out so far
  bool ended_ ABSL_GUARDED_BY(mu_) = false;   // the filler reached the end
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);  // the reader's, once ended_
  std::thread filler_;
};

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_DECODER_H_
