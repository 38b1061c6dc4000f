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

// Where the secret comes from, as the driver names it.
struct SecretSource {
  std::string file;  // empty: none given
  // How the user gives it ("--hmac-secret-file", "hmac.secret.file").
  std::string_view option;
  // Without a file: refuse (run), or keep a random secret in the state
  // (replay's convenience default; logged).
  bool file_required = false;
};

// The smallest secret taken, in bytes.
inline constexpr size_t kMinSecretBytes = 32;

// The secret personal fields are hashed under (contract §7): the file's (a
// trailing newline is not part of it), which must hold at least
// kMinSecretBytes and be readable by its owner only. Without a file, and
// when not required, the random one kept in the state (made when the
// state is new). The state keeps a keyed check value of the secret it was
// made with and refuses another one: its hashes would not match.
absl::StatusOr<std::string> LoadSecret(const SecretSource& source,
                                       StateStore& store, spdlog::logger* log);

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
