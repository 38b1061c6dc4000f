// The outbox: every output an epoch produced, committed in the epoch's
// WriteBatch before anyone may see it, and kept until the driver's sink
// says it is durable (design.md "How the guarantees are kept"). Each of
// the three streams numbers its records from 0; the run record keeps the
// next number and the first one still kept (the floor), so a restart
// publishes again exactly what may be missing downstream.
//
// An entry's value is the output's key (length-prefixed: the Kafka key of
// contract §1) followed by its line.
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_STATE_OUTBOX_H_
#define CLEARLANE_STATE_OUTBOX_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "model/outputs.h"
#include "state/run_record.h"
#include "state/store.h"

namespace clearlane {

class Outbox {
 public:
  // The sequence numbers live in `run` (not owned), which is committed
  // with every epoch.
  Outbox(StateStore* store, RunRecord* run) : store_(store), run_(run) {}

  // Numbers an output and puts it into `batch`; returns its number.
  int64_t Append(WriteBatch* batch, OutputStream s, std::string_view key,
                 std::string_view line);
  // Numbers an output that the outbox does not keep (a sink that writes
  // ahead of the commit holds it); returns its number. With nothing kept
  // below it, the floor follows.
  int64_t Skip(OutputStream s);
  // Deletes, in `batch`, the entries below `published` (the sink holds
  // them durably) and moves the floors up to it.
  void Trim(WriteBatch* batch,
            const std::array<int64_t, kOutboxStreamCount>& published);

  int64_t next_seq(OutputStream s) const {
    return run_->next_seq[static_cast<int>(s)];
  }
  int64_t floor(OutputStream s) const {
    return run_->outbox_floor[static_cast<int>(s)];
  }
  // Entries kept, over the streams.
  int64_t size() const;

  // Recovery: the committed entries of `s` from `from` (at least the
  // floor) to the next sequence number, in order. DataLoss when one is
  // missing.
  absl::Status ForEachUnpublished(
      OutputStream s, int64_t from,
      absl::FunctionRef<absl::Status(int64_t seq, std::string_view key,
                                     std::string_view line)>
          visit);

 private:
  StateStore* store_;
  RunRecord* run_;
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_OUTBOX_H_
