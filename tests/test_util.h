// Small helpers the tests share: whole files, their lines, and text
// substitutions that build a variant of a fixture document.

#ifndef CLEARLANE_TESTS_TEST_UTIL_H_
#define CLEARLANE_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace clearlane::testing {

// The bytes of a file ("" if it cannot be read).
inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes `text` to `p` with permissions `mode` (0600 for a secret file, as
// clearlane requires: readable by its owner only).
inline void WriteFileWithMode(const std::filesystem::path& p,
                              std::string_view text,
                              std::filesystem::perms mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  std::filesystem::permissions(p, mode);
}

// The lines of a file, without their newlines.
inline std::vector<std::string> Lines(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// `s` with its first `from` (which must be there) replaced by `to`.
inline std::string With(std::string s, std::string_view from,
                        std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// Every value of a personal field (contract §7: names, identity numbers,
// telephone numbers, addresses) in `text`, documents as JSON, one a line:
// a value ends at its line (a line the generator cut short leaves a string
// open, which must not run into the next line and take "1\n{" for a
// value).
inline std::set<std::string> PersonalDataIn(const std::string& text) {
  static const std::regex field(
      R"re("(buyerName|buyerIdNumber|buyerTelephone|buyerRegNo|payerName|)re"
      R"re(payerIdNumber|telephone|consignee|consigneeTelephone|)re"
      R"re(consigneeAddress)":)re"
      R"re("([^"\n]+)")re");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), field);
       it != std::sregex_iterator(); ++it) {
    out.insert((*it)[2].str());
  }
  return out;
}

// `s` with every `from` replaced by `to`.
inline std::string All(std::string s, std::string_view from,
                       std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos;
       at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

// `record` (a document as JSON, its "items" array last) with that array
// replaced by `items` ("[]", "null", ...).
inline std::string WithItems(const std::string& record,
                             std::string_view items) {
  const size_t at = record.find("\"items\":");
  const size_t end = record.rfind(']');
  EXPECT_TRUE(at != std::string::npos && end != std::string::npos && end > at)
      << record;
  if (at == std::string::npos || end == std::string::npos || end < at) {
    return record;
  }
  return record.substr(0, at) + "\"items\":" + std::string(items) +
         record.substr(end + 1);
}

}  // namespace clearlane::testing

#endif  // CLEARLANE_TESTS_TEST_UTIL_H_
