// RegistryStore is the identity registry (contract §2) as state keeps it:
// the keyed hash of each registered identity number (keys.h) mapped to the
// keyed hash of the registered name, never either in clear (contract §7).
//
// The registry does not change while the engine runs, and a buyer's lists
// come back to it, so the answers read are remembered (a registry read was
// a tenth of the engine thread's time on the 1,000,000-order day).
//
// Thread-safety: not thread-safe; the engine's thread.

#ifndef CLEARLANE_STATE_REGISTRY_STORE_H_
#define CLEARLANE_STATE_REGISTRY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "state/store.h"

namespace clearlane {

class RegistryStore {
 public:
  explicit RegistryStore(StateStore* store) : store_(store) {}
  RegistryStore(const RegistryStore&) = delete;
  RegistryStore& operator=(const RegistryStore&) = delete;

  // Replaces the registry: Add puts an entry, committing every 10,000;
  // Finish commits the last ones with what `also` puts (the run record
  // saying a registry is there). A crash midway leaves a partial registry
  // that the restart, loading the file again, replaces.
  class Loader {
   public:
    absl::Status Add(std::string_view id_hash, std::string_view name_hash);
    absl::Status Finish(absl::FunctionRef<void(WriteBatch* batch)> also);

   private:
    friend class RegistryStore;
    explicit Loader(StateStore* store);
    StateStore* store_;
    WriteBatch batch_;
    int64_t added_ = 0;
  };
  Loader Replace();

  // The registered name's hash for an identity number's hash; nullopt
  // when it is not registered. Valid until the next LookUp.
  absl::StatusOr<const std::optional<std::string>*> LookUp(
      std::string_view id_hash);

 private:
  // Answers remembered, at most (about 100 bytes each); past it they are
  // forgotten all at once.
  static constexpr size_t kMemo = 400000;

  StateStore* store_;
  absl::flat_hash_map<std::string, std::optional<std::string>> memo_;
};

}  // namespace clearlane

#endif  // CLEARLANE_STATE_REGISTRY_STORE_H_
