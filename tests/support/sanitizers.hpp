// Test support: which sanitizer this build has. gcc says __SANITIZE_ADDRESS__, clang says
// __has_feature(address_sanitizer); the asan preset (scripts/sanitize.sh) builds with clang.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define TOLLGATE_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TOLLGATE_TEST_ASAN 1
#endif
#endif
