// Minimal valid documents of each type, with every Appendix A field, for
// tests that change one thing at a time.

#ifndef CLEARLANE_TESTS_FIXTURES_H_
#define CLEARLANE_TESTS_FIXTURES_H_

#include <string>
#include <string_view>

namespace clearlane::testing {

// One valid record per document type, keyed by docType.
std::string ValidRecord(std::string_view doc_type);

// The twelve docType names.
inline constexpr std::string_view kAllDocTypes[] = {
    "CEB311", "CEB411", "CEB511", "CEB621", "CEB623", "CEB625",
    "CEB303", "CEB403", "CEB505", "CEB507", "CEB509", "CEB603"};

}  // namespace clearlane::testing

#endif  // CLEARLANE_TESTS_FIXTURES_H_
