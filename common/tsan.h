// Happens-before edges that ThreadSanitizer cannot see for itself.
//
// Debian's gRPC is not built with TSan, so the ordering its callback API
// guarantees (a reactor returned from the method handler is complete before
// any of its reactions run) is made with locks and atomics TSan never sees.
// TsanRelease where attest hands an object to such a library and
// TsanAcquire where the library hands it back state that guarantee to TSan,
// as a TSan-built gRPC would. They claim nothing the library does not
// promise, and compile to nothing outside a TSan build.
#ifndef ATTEST_COMMON_TSAN_H_
#define ATTEST_COMMON_TSAN_H_

#if defined(__SANITIZE_THREAD__)
#define ATTEST_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ATTEST_TSAN_BUILD 1
#endif
#endif

#ifdef ATTEST_TSAN_BUILD
#include <sanitizer/tsan_interface.h>
#endif

namespace attest {

inline void TsanRelease([[maybe_unused]] void* addr) {
#ifdef ATTEST_TSAN_BUILD
  __tsan_release(addr);
#endif
}

inline void TsanAcquire([[maybe_unused]] void* addr) {
#ifdef ATTEST_TSAN_BUILD
  __tsan_acquire(addr);
#endif
}

}  // namespace attest

#endif  // ATTEST_COMMON_TSAN_H_
