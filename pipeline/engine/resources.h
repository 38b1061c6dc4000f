// The files an engine loads when it opens: the secret of the keyed hashes,
// the identity registry and the tax rates (contract §2, §7). Each error
// names the file and what is wrong with it.
//
// Thread-safety: functions; each call owns what it reads.

#ifndef CLEARLANE_PIPELINE_ENGINE_RESOURCES_H_
#define CLEARLANE_PIPELINE_ENGINE_RESOURCES_H_

#include <spdlog/spdlog.h>

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "operators/tax.h"
#include "state/registry_store.h"
#include "state/store.h"

namespace clearlane {

// The secret personal fields are hashed under: the file's (a trailing
// newline is not part of it), or, without a file, the one kept in the
// state, made at random when the state is new.
absl::StatusOr<std::string> LoadSecret(const std::string& file,
                                       StateStore& store);

// Replaces the registry in state with the file's (NDJSON of {"idNumber",
// "name"}), each hashed under `secret`; `also` adds its changes to the
// last commit (the run record saying a registry is there). Lines that are
// not such an object are logged (by line number only) and skipped.
absl::Status LoadRegistry(const std::string& file, std::string_view secret,
                          RegistryStore& registry,
                          absl::FunctionRef<void(WriteBatch*)> also,
                          spdlog::logger* log);

// The tax rates of a CSV file (contract §2).
absl::StatusOr<TaxRateTable> LoadTaxRates(const std::string& file);

}  // namespace clearlane

#endif  // CLEARLANE_PIPELINE_ENGINE_RESOURCES_H_
