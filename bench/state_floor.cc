// state_floor: the least that any durable replay on this stack must do,
// measured on the same input as `clearlane check` and `clearlane replay`.
//
// It reads and decodes the input ahead exactly as replay does (DecodeAhead,
// each record's state form prepared with its personal fields HMACed), then
// makes each document durable the cheapest way a store of documents can:
// one RocksDB Put of its state form, never rewritten, never deleted, plus
// one outbox entry per inventory list (the receipt the list will get), and
// the input position, committed in epochs of --epoch-records records with
// one WriteBatch each, through clearlane's StateStore (same column family
// options, same background commit as replay). No operator runs, no
// document is read back, no timer is kept.
//
// Every design that keeps replay's guarantees does at least this much, so
// the documents per second printed here bound what `replay --state` can
// reach on the machine it runs on; set beside `clearlane check` on the same
// file, it bounds the ratio of issue 4's target.
//
//   build/bench/state_floor --input FILE [--epoch-records 32768]
//       [--sync epoch|none] [--threads 2] [--receipt-bytes 573]
//       [--write yes|no] [--document-bytes N] [--raw yes|no]
//
// --write no decodes and prepares the state forms and writes nothing;
// --document-bytes N puts N bytes for each document instead of its state
// form, which tells RocksDB's cost per entry from its cost per byte;
// --raw yes prepares no state form and puts each record's own bytes (state
// may not hold personal fields in clear, so this is below any real design).
// (Session 6 also compared memtables here; docs/benchmarks.md has the
// figures. The store's production API no longer offers that choice.)
//
// It prints one line: documents, lists, seconds of wall time, CPU seconds
// of the whole process (all threads, RocksDB's included), documents per
// second and CPU microseconds per document. The state directory is made
// under $TMPDIR and removed at the end.

#include <sys/resource.h>
#include <xxhash.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "model/coding.h"
#include "pipeline/files/file_source.h"
#include "state/store.h"

namespace clearlane {
namespace {

struct Options {
  std::string input;
  int64_t epoch_records = 32768;
  bool sync = true;
  int threads = 2;
  // The mean size of an outbox entry on the 1,000,000-order import day
  // (545 MB for 0.95 M entries; docs/benchmarks.md, session 5).
  int64_t receipt_bytes = 573;
  // Decode and prepare state forms only, write nothing: what the decoding
  // half costs by itself.
  bool write = true;
  // Put each record's own bytes and prepare no state form (no HMAC): less
  // than any design may do, since state must not hold personal fields in
  // clear (contract §7); a lower bound still.
  bool raw = false;
  // Put this many bytes per document instead of its state form (-1): to
  // tell RocksDB's cost per entry from its cost per byte.
  int64_t document_bytes = -1;
};

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

[[noreturn]] void Fail(std::string_view what) {
  std::fprintf(stderr, "state_floor: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::exit(1);
}

void Check(const absl::Status& s) {
  if (!s.ok()) Fail(s.ToString());
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc) Fail(absl::StrFormat("%s needs a value", flag));
    const std::string value = argv[++i];
    int64_t n = 0;
    if (flag == "--input") {
      o.input = std::string(value);
    } else if (flag == "--sync" && (value == "epoch" || value == "none")) {
      o.sync = value == "epoch";
    } else if (flag == "--epoch-records" && absl::SimpleAtoi(value, &n) &&
               n > 0) {
      o.epoch_records = n;
    } else if (flag == "--threads" && absl::SimpleAtoi(value, &n) && n > 0) {
      o.threads = static_cast<int>(n);
    } else if (flag == "--raw" && (value == "yes" || value == "no")) {
      o.raw = value == "yes";
    } else if (flag == "--write" && (value == "yes" || value == "no")) {
      o.write = value == "yes";
    } else if (flag == "--document-bytes" && absl::SimpleAtoi(value, &n) &&
               n >= 0) {
      o.document_bytes = n;
    } else if (flag == "--receipt-bytes" && absl::SimpleAtoi(value, &n) &&
               n >= 0) {
      o.receipt_bytes = n;
    } else {
      Fail(absl::StrFormat("bad flag or value: %s %s", flag, value));
    }
  }
  if (o.input.empty()) Fail("--input FILE is required");
  return o;
}

int Main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const auto dir = std::filesystem::temp_directory_path() /
                   absl::StrFormat("state_floor.%d", getpid());
  std::filesystem::remove_all(dir);

  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = CpuSeconds();
  int64_t documents = 0, lists = 0;
  {
    StoreOptions so;
    so.path = dir.string();
    so.sync = o.sync;
    auto store = StateStore::Open(std::move(so));
    Check(store.status());
    // Read and decoded ahead as replay does. A fixed secret: the HMACs
    // cost the same under any key. Without one (--raw), the decoder
    // prepares no state form.
    FileRecordSource ahead(FilePosition{.inputs = {o.input}}, o.threads - 1,
                           o.raw ? "" : "state_floor");
    const std::string receipt(static_cast<size_t>(o.receipt_bytes), 'r');
    const std::string filler(
        static_cast<size_t>(std::max<int64_t>(0, o.document_bytes)), 'd');
    // Two batches, as replay: one is written in the background while the
    // next is filled.
    WriteBatch batches[2] = {WriteBatch(**store), WriteBatch(**store)};
    int open = 0;
    int64_t in_epoch = 0, outbox_seq = 0;
    uint64_t end_offset = 0;
    std::string key;
    auto commit = [&] {
      std::string position;
      BinaryWriter(&position).Fixed64(end_offset);
      batches[open].Put(Store::kMeta, "position", position);
      Check((*store)->Await());
      (*store)->CommitInBackground(&batches[open],
                                   [] { return absl::OkStatus(); });
      open ^= 1;
      batches[open].Clear();
      in_epoch = 0;
    };
    while (true) {
      absl::Span<DecodedRecord> batch = ahead.Next();
      if (batch.empty()) break;
      for (const DecodedRecord& r : batch) {
        end_offset = r.origin.end;
        if (r.outcome.ok()) {
          ++documents;
          if (!o.write) continue;
          // 8 bytes of hash lead a point store's keys (state/store.h).
          key.clear();
          BinaryWriter w(&key);
          const int64_t line = r.origin.offset;
          w.Fixed64(XXH3_64bits(&line, sizeof line));
          w.Fixed64(static_cast<uint64_t>(line));
          const std::string& value = o.document_bytes >= 0 ? filler
                                     : o.raw               ? r.bytes
                                                           : r.state_form;
          batches[open].Put(Store::kOrders, key, value);
          const DocType t = TypeOf(r.doc);
          if (t == DocType::kCeb621 || t == DocType::kCeb603) {
            ++lists;
            key.clear();
            BinaryWriter(&key).Fixed64(static_cast<uint64_t>(outbox_seq++));
            batches[open].Put(Store::kOutbox, key, receipt);
          }
        }
        if (++in_epoch >= o.epoch_records) commit();
      }
    }
    Check(ahead.status());
    commit();
    Check((*store)->Await());
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0)
          .count();
  const double cpu = CpuSeconds() - cpu0;
  std::filesystem::remove_all(dir);
  std::printf(
      "documents %lld lists %lld wall_s %.2f cpu_s %.2f docs_per_s %.0f "
      "cpu_us_per_doc %.2f\n",
      static_cast<long long>(documents), static_cast<long long>(lists), wall,
      cpu, documents / wall, documents ? cpu * 1e6 / documents : 0.0);
  return 0;
}

}  // namespace
}  // namespace clearlane

int main(int argc, char** argv) { return clearlane::Main(argc, argv); }
