# Lateness by percentile, HdrHistogram style: x is 1/(1-q) on a log scale, so the tail gets
# the room. Variables: dat, out, n (architectures), nf (floors after them), limit (<0: none), ylab.
load tmpl.'/common.gp'
set logscale x
set logscale y
set xlabel "percentile"
set ylabel ylab
set xtics ("0%%" 1, "50%%" 2, "90%%" 10, "99%%" 100, "99.9%%" 1000, "99.99%%" 10000, "99.999%%" 100000, "99.9999%%" 1000000)
plot for [i=0:n-1] dat index i using 1:2 with steps lw 2 title columnheader(1), \
     for [i=n:n+nf-1] dat index i using 1:2 with steps lw 1.5 dt 2 lc rgb "#777777" title columnheader(1), \
     (limit > 0 ? limit : 1/0) with lines lw 2 dt 4 lc rgb "#c62828" title (limit > 0 ? "limit" : "")
