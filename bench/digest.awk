# After `make bench`'s table of scenarios, the prices that explain it: the p50 per operation of
# the benchmarks whose names match `key`, read from Google Benchmark's console table.
#   awk -v key='REGEX' -f bench/digest.awk results/latest/micro.txt
BEGIN { print "\nwhy: what each primitive costs here (p50 per operation)" }
$1 ~ key && match($0, /p50_ns=[0-9.]+[kMG]?/) {
  v = substr($0, RSTART + 7, RLENGTH - 7)
  m = v ~ /k$/ ? 1e3 : v ~ /M$/ ? 1e6 : v ~ /G$/ ? 1e9 : 1
  ns = (v + 0) * m
  t = ns < 1e4 ? sprintf("%.2fus", ns / 1e3) : ns < 1e6 ? sprintf("%.1fus", ns / 1e3) : sprintf("%.2fms", ns / 1e6)
  printf "  %-46s %10s\n", $1, t
}
END { print "micro-benchmarks: results/latest/micro.json (Google Benchmark JSON) and micro.txt" }
