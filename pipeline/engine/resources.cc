#include "pipeline/engine/resources.h"

#include <openssl/rand.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "model/keyed_hash.h"
#include "pipeline/files/ndjson_reader.h"
#include "state/keys.h"

namespace clearlane {
namespace {

// The whole of a file; NotFound when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read %s %s", what, path));
  }
  return ss.str();
}

}  // namespace

absl::StatusOr<std::string> LoadSecret(const std::string& file,
                                       StateStore& store) {
  if (!file.empty()) {
    auto text = ReadFile(file, "hmac secret file");
    std::string secret = text.ok() ? *std::move(text) : std::string();
    while (!secret.empty() &&
           (secret.back() == '\n' || secret.back() == '\r')) {
      secret.pop_back();
    }
    if (secret.size() < 16) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "hmac secret file %s: cannot read a secret of at least 16 bytes",
          file));
    }
    return secret;
  }
  auto stored = store.Get(Store::kMeta, kSecretKey);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) return **stored;
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1) {
    return absl::InternalError("cannot draw a random secret");
  }
  WriteBatch batch(store);
  batch.Put(Store::kMeta, kSecretKey, secret);
  absl::Status st = store.Commit(&batch);
  if (!st.ok()) return st;
  return secret;
}

absl::Status LoadRegistry(const std::string& file, std::string_view secret,
                          RegistryStore& registry,
                          absl::FunctionRef<void(WriteBatch*)> also,
                          spdlog::logger* log) {
  auto reader = NdjsonReader::Open(file);
  if (!reader.ok()) return reader.status();
  RegistryStore::Loader loader = registry.Replace();
  KeyedHash hash(secret);
  simdjson::ondemand::parser parser;
  NdjsonReader::Record record;
  while ((*reader)->Next(&record)) {
    simdjson::padded_string json(record.bytes);
    simdjson::ondemand::document doc;
    std::string_view id, name;
    if (parser.iterate(json).get(doc) || doc["idNumber"].get_string().get(id) ||
        doc["name"].get_string().get(name) || id.empty() || name.empty()) {
      // The line itself may hold personal data: name only where it is.
      log->warn(absl::StrFormat(
          "%s:%d: not {\"idNumber\": ..., \"name\": ...}; skipped", file,
          record.line));
      continue;
    }
    absl::Status st = loader.Add(hash(id), hash(name));
    if (!st.ok()) return st;
  }
  if (!(*reader)->status().ok()) return (*reader)->status();
  return loader.Finish(also);
}

absl::StatusOr<TaxRateTable> LoadTaxRates(const std::string& file) {
  auto text = ReadFile(file, "tax rates");
  if (!text.ok()) return text.status();
  auto table = TaxRateTable::Parse(*text);
  if (!table.ok()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tax rates %s: %s", file, table.status().message()));
  }
  return table;
}

}  // namespace clearlane
