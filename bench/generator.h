// The load generator behind `clearlane gen`: a day of cross-border parcels,
// every order with all its documents (import: order, payment, waybill, list;
// export: order, payment received, waybill, list, arrival, departure), event
// times moving through the day as real traffic does, and anomalies injected
// at configurable rates.
//
// Deterministic: the same options give the same bytes. Streaming: an order's
// content is a pure function of (seed, order index), so only a small pending
// event per future document is held, never the documents themselves.
//
// Thread-safety: Generate is reentrant; each call owns its state.

#ifndef CLEARLANE_BENCH_GENERATOR_H_
#define CLEARLANE_BENCH_GENERATOR_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"

namespace clearlane {

enum class Flow { kImport, kExport, kMixed };
enum class DayProfile { kFlat, kDouble11 };

// Each rate is a probability in [0, 1].
struct AnomalyRates {
  double duplicates = 0;     // per document: the same bytes sent again
  double stale = 0;          // per order: an older version arrives late
  double modifications = 0;  // per order: the order is corrected (appType 2)
  double missing = 0;        // per order: one document is never sent
  double amount_mismatches = 0;  // per order: an amount rule is broken
  double payer_mismatches = 0;   // per import order: payer is not the buyer
  double invalid_ids = 0;        // per import order: bad GB 11643 number
  double cancels = 0;            // per import order: a CEB623 after the list
  double returns = 0;            // per import order: CEB625 within 30 days
  double late_returns = 0;       // per import order: CEB625 after 30 days
  double malformed = 0;          // per document: a broken extra line
};

struct GeneratorOptions {
  int64_t orders = 1000;
  uint64_t seed = 1;
  Flow flow = Flow::kMixed;
  DayProfile profile = DayProfile::kFlat;
  absl::CivilDay day = absl::CivilDay(2026, 11, 11);
  double export_share = 0.3;  // in the mixed flow
  double bonded_share = 0.7;  // import lists that are 1210 (else 9610)
  double single_item_over_limit = 0.003;  // import: one item over 5000
  double statistics_flag_a = 0.2;         // export lists with flag A
  // When above 0: this share of export orders comes from the three largest
  // sellers, the rest evenly from the others (a skewed 9610 month).
  double top_sellers_share = 0;
  int64_t buyers = 0;  // 0: orders / 3, at least 50
  AnomalyRates anomalies;
  // Identity registry for the buyers (contract §2), when registry_out is set.
  double registry_unknown = 0.01;   // buyers left out of the registry
  double registry_mismatch = 0.01;  // buyers registered under another name
};

// Counts of what was written, for the caller's summary line.
struct GeneratorStats {
  int64_t lines = 0;
  int64_t orders_import = 0;
  int64_t orders_export = 0;
  int64_t malformed_lines = 0;
};

// Writes the documents to `out`, one JSON object per line. When `truth` is
// not null, writes one JSON object per injected anomaly (what was done and
// the outcome the contract expects). When `registry` is not null, writes the
// identity registry of the buyer population.
absl::Status Generate(const GeneratorOptions& options, std::FILE* out,
                      std::FILE* truth, std::FILE* registry,
                      GeneratorStats* stats);

}  // namespace clearlane

#endif  // CLEARLANE_BENCH_GENERATOR_H_
