// The C shim over Google Benchmark (see gbench.h): the only C++ file in archbench. Each call
// forwards to benchmark::State or benchmark::internal::Benchmark; a C benchmark is
// registered as a lambda that hands the State to the C function.
#include <benchmark/benchmark.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <memory>
// GCC 12 warns of an uninitialized std::function inside libstdc++'s regex compiler when
// built with -O1 (the sanitizer builds): a known false positive in the header itself.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <regex>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <sstream>
#include <string>
#include <vector>

#include "gbench.h"

namespace {

benchmark::State *S(ab_gb_state_t *st) { return reinterpret_cast<benchmark::State *>(st); }
const benchmark::State *S(const ab_gb_state_t *st)
{
  return reinterpret_cast<const benchmark::State *>(st);
}
benchmark::internal::Benchmark *B(ab_gb_bench_t *b)
{
  return reinterpret_cast<benchmark::internal::Benchmark *>(b);
}
ab_gb_bench_t *C(benchmark::internal::Benchmark *b) { return reinterpret_cast<ab_gb_bench_t *>(b); }

// The display reporter ab_gb_run hands to RunSpecifiedBenchmarks: every report goes to
// Google Benchmark's own (console or JSON, printing where it always does), but the error
// stream RunSpecifiedBenchmarks itself writes to when the filter matches nothing is this
// one's, so that the caller can say so once, in its own words.
class Forward : public benchmark::BenchmarkReporter {
public:
  explicit Forward(benchmark::BenchmarkReporter *to) : to_(to) { SetErrorStream(&unsaid_); }
  bool ReportContext(const Context &c) override { return to_->ReportContext(c); }
  void ReportRuns(const std::vector<Run> &runs) override { to_->ReportRuns(runs); }
  void Finalize() override { to_->Finalize(); }

private:
  benchmark::BenchmarkReporter *to_;
  std::ostringstream unsaid_;
};

} // namespace

extern "C" {

ab_gb_bench_t *ab_gb_register(const char *name, ab_gb_fn fn, void *arg)
{
  return C(benchmark::RegisterBenchmark(name, [fn, arg](benchmark::State &s) {
    fn(reinterpret_cast<ab_gb_state_t *>(&s), arg);
  }));
}

ab_gb_bench_t *ab_gb_arg(ab_gb_bench_t *b, int64_t x) { return C(B(b)->Arg(x)); }

ab_gb_bench_t *ab_gb_args(ab_gb_bench_t *b, const int64_t *v, int n)
{
  return C(B(b)->Args(std::vector<int64_t>(v, v + (n > 0 ? n : 0))));
}

ab_gb_bench_t *ab_gb_arg_names(ab_gb_bench_t *b, const char *const *names, int n)
{
  return C(B(b)->ArgNames(std::vector<std::string>(names, names + (n > 0 ? n : 0))));
}

ab_gb_bench_t *ab_gb_range(ab_gb_bench_t *b, int64_t lo, int64_t hi) { return C(B(b)->Range(lo, hi)); }
ab_gb_bench_t *ab_gb_range_multiplier(ab_gb_bench_t *b, int mult) { return C(B(b)->RangeMultiplier(mult)); }

ab_gb_bench_t *ab_gb_dense_range(ab_gb_bench_t *b, int64_t lo, int64_t hi, int step)
{
  return C(B(b)->DenseRange(lo, hi, step));
}

ab_gb_bench_t *ab_gb_iterations(ab_gb_bench_t *b, int64_t n) { return C(B(b)->Iterations(n)); }
ab_gb_bench_t *ab_gb_min_time(ab_gb_bench_t *b, double s) { return C(B(b)->MinTime(s)); }
ab_gb_bench_t *ab_gb_repetitions(ab_gb_bench_t *b, int n) { return C(B(b)->Repetitions(n)); }
ab_gb_bench_t *ab_gb_manual_time(ab_gb_bench_t *b) { return C(B(b)->UseManualTime()); }
ab_gb_bench_t *ab_gb_real_time(ab_gb_bench_t *b) { return C(B(b)->UseRealTime()); }

ab_gb_bench_t *ab_gb_unit(ab_gb_bench_t *b, enum ab_gb_unit u)
{
  static const benchmark::TimeUnit units[] = { benchmark::kNanosecond, benchmark::kMicrosecond,
                                               benchmark::kMillisecond, benchmark::kSecond };
  return C(B(b)->Unit(units[u <= AB_GB_S ? u : AB_GB_NS]));
}

void ab_gb_context(const char *key, const char *value) { benchmark::AddCustomContext(key, value); }

void ab_gb_init(int *argc, char **argv) { benchmark::Initialize(argc, argv); }

const char *ab_gb_filter(void)
{
  static std::string f;
  f = benchmark::GetBenchmarkFilter();
  return f.c_str();
}

int ab_gb_run(char *err, size_t len)
{
  // The filter as RunSpecifiedBenchmarks reads it: none is ".", a leading '-' negates. It is
  // compiled the way Google Benchmark compiles it (Debian's build: std::regex, extended), so
  // a bad one is told apart from one that matches nothing.
  std::string spec = benchmark::GetBenchmarkFilter();
  if (spec.empty() || spec == "all")
    spec = ".";
  try {
    std::regex re(spec[0] == '-' ? spec.substr(1) : spec, std::regex_constants::extended);
  } catch (const std::regex_error &e) {
    snprintf(err, len, "%s", e.what());
    benchmark::Shutdown();
    return -EINVAL;
  }
  std::unique_ptr<benchmark::BenchmarkReporter> display(benchmark::CreateDefaultDisplayReporter());
  Forward forward(display.get());
  size_t n = benchmark::RunSpecifiedBenchmarks(&forward);
  benchmark::Shutdown();
  return n > INT_MAX ? INT_MAX : static_cast<int>(n);
}

int ab_gb_loop(ab_gb_state_t *st) { return S(st)->KeepRunning(); }
int ab_gb_loop_batch(ab_gb_state_t *st, int64_t n) { return S(st)->KeepRunningBatch(n); }
int64_t ab_gb_get_range(ab_gb_state_t *st, int i) { return S(st)->range(static_cast<size_t>(i)); }
int64_t ab_gb_max_iterations(ab_gb_state_t *st) { return S(st)->max_iterations; }
int64_t ab_gb_iterations_done(ab_gb_state_t *st) { return S(st)->iterations(); }
void ab_gb_pause(ab_gb_state_t *st) { S(st)->PauseTiming(); }
void ab_gb_resume(ab_gb_state_t *st) { S(st)->ResumeTiming(); }
void ab_gb_set_iteration_time(ab_gb_state_t *st, double s) { S(st)->SetIterationTime(s); }

void ab_gb_counter(ab_gb_state_t *st, const char *name, double value, unsigned flags)
{
  int f = benchmark::Counter::kDefaults;
  if (flags & AB_GB_RATE)
    f |= benchmark::Counter::kIsRate;
  if (flags & AB_GB_AVG_ITERATIONS)
    f |= benchmark::Counter::kAvgIterations;
  if (flags & AB_GB_ITERATION_INVARIANT)
    f |= benchmark::Counter::kIsIterationInvariant;
  if (flags & AB_GB_INVERT)
    f |= benchmark::Counter::kInvert;
  S(st)->counters[name] =
      benchmark::Counter(value, static_cast<benchmark::Counter::Flags>(f),
                         (flags & AB_GB_1024) ? benchmark::Counter::kIs1024 : benchmark::Counter::kIs1000);
}

void ab_gb_bytes(ab_gb_state_t *st, int64_t bytes) { S(st)->SetBytesProcessed(bytes); }
void ab_gb_items(ab_gb_state_t *st, int64_t items) { S(st)->SetItemsProcessed(items); }
void ab_gb_label(ab_gb_state_t *st, const char *label) { S(st)->SetLabel(label); }
void ab_gb_skip(ab_gb_state_t *st, const char *msg) { S(st)->SkipWithError(msg); }
int ab_gb_error(const ab_gb_state_t *st) { return S(st)->error_occurred(); }

} // extern "C"
