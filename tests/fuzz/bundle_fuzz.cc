// The offline bundle verifier (attestctl verify): any file is either a
// verified bundle or refused with a reason; never a crash, never a hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "ctl/bundle.h"
#include "spdlog/spdlog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    spdlog::set_level(spdlog::level::off);
    return std::string("/tmp/attest-bundle-fuzz.") + std::to_string(getpid()) + ".tar";
  }();
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  fwrite(data, 1, size, f);
  fclose(f);
  auto r = attest::ctl::VerifyBundle(path, {});
  if (!r.ok() && r.status().message().empty()) __builtin_trap();
  unlink(path.c_str());
  return 0;
}
