#include "common/strings.h"

#include <cstdio>

namespace attest::strings_internal {

void Append(std::string* out, double v) {
  char buf[32];
  snprintf(buf, sizeof(buf), "%g", v);
  out->append(buf);
}

}  // namespace attest::strings_internal
