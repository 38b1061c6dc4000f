#include "pipeline/engine/resources.h"

#include <openssl/rand.h>
#include <simdjson.h>
#include <sys/stat.h>

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

namespace {

// What the check value hashes: a state keeps HMAC(secret, this), never
// the secret.
constexpr std::string_view kCheckMessage = "clearlane secret check 1";

std::string CheckValue(std::string_view secret) {
  return KeyedHash(secret)(kCheckMessage);
}

// The secret in `file`, if it is one a state may be keyed by.
absl::StatusOr<std::string> ReadSecretFile(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return absl::NotFoundError(
        absl::StrFormat("cannot read hmac secret file %s", file));
  }
  if (st.st_mode & (S_IRGRP | S_IROTH)) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "hmac secret file %s is readable by group or others (mode %04o): "
        "make it readable by its owner only (chmod 600 %s)",
        file, st.st_mode & 07777, file));
  }
  auto text = ReadFile(file, "hmac secret file");
  if (!text.ok()) return text.status();
  std::string secret = *std::move(text);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.size() < kMinSecretBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "hmac secret file %s holds %d bytes; a secret needs at least %d "
        "(head -c 48 /dev/urandom | base64 > %s)",
        file, secret.size(), kMinSecretBytes, file));
  }
  return secret;
}

absl::Status AnotherSecret(const StateStore& store, std::string_view given) {
  return absl::FailedPreconditionError(absl::StrFormat(
      "state %s was made with another hmac secret than %s: give the secret "
      "it was made with, or start a new state (docs/kafka-mode.md "
      "\"Rotating the secret\")",
      store.path(), given));
}

}  // namespace

absl::StatusOr<std::string> LoadSecret(const SecretSource& source,
                                       StateStore& store, spdlog::logger* log) {
  auto stored = store.Get(Store::kMeta, kSecretKey);
  if (!stored.ok()) return stored.status();
  auto check = store.Get(Store::kMeta, kSecretCheckKey);
  if (!check.ok()) return check.status();
  WriteBatch batch(store);
  std::string secret;
  if (!source.file.empty()) {
    auto read = ReadSecretFile(source.file);
    if (!read.ok()) return read.status();
    secret = *std::move(read);
    if ((check->has_value() && **check != CheckValue(secret)) ||
        (stored->has_value() && **stored != secret)) {
      return AnotherSecret(store, source.file);
    }
    // A state from before the check value kept its random secret: the
    // file's is the same, so the state need not keep it any more.
    if (stored->has_value()) batch.Delete(Store::kMeta, kSecretKey);
  } else if (source.file_required) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s is not set: personal fields are kept as keyed hashes under a "
        "configured secret (contract §7); give a file of at least %d bytes "
        "readable by its owner only",
        source.option, kMinSecretBytes));
  } else if (stored->has_value()) {
    secret = **stored;
    log->warn(absl::StrFormat(
        "no %s: using the random secret kept in state %s; whoever copies "
        "the state can recompute its keyed hashes",
        source.option, store.path()));
  } else if (check->has_value()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("state %s was made with a secret file: give it with %s",
                        store.path(), source.option));
  } else {
    secret.assign(kMinSecretBytes, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()),
                   static_cast<int>(secret.size())) != 1) {
      return absl::InternalError("cannot draw a random secret");
    }
    batch.Put(Store::kMeta, kSecretKey, secret);
    log->warn(absl::StrFormat(
        "no %s: made a random secret and kept it in state %s; whoever "
        "copies the state can recompute its keyed hashes",
        source.option, store.path()));
  }
  if (!check->has_value()) {
    batch.Put(Store::kMeta, kSecretCheckKey, CheckValue(secret));
  }
  if (batch.Count() > 0) {
    absl::Status st = store.Commit(&batch);
    if (!st.ok()) return st;
  }
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
