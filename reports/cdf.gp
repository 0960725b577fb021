# The lateness CDF. Variables: dat, out, n, nf, limit (<0: none), xlab.
load tmpl.'/common.gp'
set logscale x
set xlabel xlab
set ylabel "fraction of activations at or under x"
set yrange [0:1.02]
if (limit > 0) set arrow from limit, graph 0 to limit, graph 1 nohead lw 2 dt 4 lc rgb "#c62828"
if (limit > 0) set label "limit" at limit, graph 0.05 offset 0.5,0 tc rgb "#c62828"
plot for [i=0:n-1] dat index i using 1:2 with steps lw 2 title columnheader(1), \
     for [i=n:n+nf-1] dat index i using 1:2 with steps lw 1.5 dt 2 lc rgb "#777777" title columnheader(1)
