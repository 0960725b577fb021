/* A small test framework: each TEST registers itself at start-up; tests/runner.c forks each
 * one under a timeout (libuv's way), so a crash or a hang fails that test and no other.
 * Assertions print both values. A test names the behaviour it pins.
 */
#ifndef AB_TEST_H
#define AB_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ab_test {
  const char *name;
  void (*fn)(void);
  int timeout_s;
} ab_test_t;

void ab_test_register(const char *name, void (*fn)(void), int timeout_s);

#define TEST_T(name, timeout_s)                                                   \
  static void test_##name(void);                                                  \
  __attribute__((constructor)) static void reg_##name(void)                       \
  { ab_test_register(#name, test_##name, timeout_s); }                            \
  static void test_##name(void)
#define TEST(name) TEST_T(name, 60)

#define AB_FAIL(...)                                                              \
  do {                                                                            \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                               \
    fprintf(stderr, __VA_ARGS__);                                                 \
    fputc('\n', stderr);                                                          \
    exit(1);                                                                      \
  } while (0)

#define ASSERT(c) do { if (!(c)) AB_FAIL("assertion failed: %s", #c); } while (0)
#define ASSERT_INT(a, op, b)                                                      \
  do {                                                                            \
    long long a_ = (long long)(a), b_ = (long long)(b);                           \
    if (!(a_ op b_)) AB_FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, a_, b_);      \
  } while (0)
#define ASSERT_EQ(a, b) ASSERT_INT(a, ==, b)
#define ASSERT_DBL(a, op, b)                                                      \
  do {                                                                            \
    double a_ = (double)(a), b_ = (double)(b);                                    \
    if (!(a_ op b_)) AB_FAIL("%s %s %s: %.9g vs %.9g", #a, #op, #b, a_, b_);      \
  } while (0)
#define ASSERT_STR(a, b)                                                          \
  do {                                                                            \
    const char *a_ = (a), *b_ = (b);                                              \
    if (strcmp(a_ ? a_ : "(null)", b_ ? b_ : "(null)"))                           \
      AB_FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
  } while (0)
#define ASSERT_CONTAINS(hay, needle)                                              \
  do {                                                                            \
    const char *h_ = (hay), *n_ = (needle);                                       \
    if (!h_ || !strstr(h_, n_)) AB_FAIL("%s does not contain \"%s\": \"%s\"", #hay, n_, h_ ? h_ : "(null)"); \
  } while (0)

/* Skip (counted apart) when the machine cannot run this test; say why. */
#define SKIP(...)                                                                 \
  do { fprintf(stderr, "skip: "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(77); } while (0)

/* Under ThreadSanitizer a test of single-threaded work, of timing or of memory sizes adds
 * only minutes (every access is instrumented, shadow memory inflates RSS): skipped there,
 * saying why; every other build runs it. */
#ifdef __SANITIZE_THREAD__
#define SKIP_UNDER_TSAN(why) SKIP("under ThreadSanitizer: %s", why)
#else
#define SKIP_UNDER_TSAN(why) do { } while (0)
#endif

#endif
