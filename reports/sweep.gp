# A sweep: column col (2 throughput, 3 efficiency, 4 memory per instance) against the point,
# one line per architecture; for throughput and efficiency the ideal (N alone, bounded by the
# machine) is drawn. Variables: dat, out, n, col, single, bound (<0: unknown), xlab, ylab,
# ng (the series without the GIL come first; those after it are dashed), lcs (each series'
# colour, words).
load tmpl.'/common.gp'
set xlabel xlab
set ylabel ylab
set logscale x
set yrange [0:*]
ideal(x) = (single > 0 ? (bound > 0 && x * single > bound ? bound : x * single) : 1/0)
f(x) = col == 2 ? ideal(x) : col == 3 ? (single > 0 ? ideal(x) / (x * single) : 1/0) : 1/0
plot for [i=0:ng-1] dat index i using 1:col with linespoints pt 7 lw 2 lc (word(lcs, i+1)+0) title columnheader(1), \
     for [i=ng:n-1] dat index i using 1:col with linespoints pt 6 lw 2 dt 2 lc (word(lcs, i+1)+0) title columnheader(1), \
     (col < 4 ? f(x) : 1/0) with lines lw 2 dt 3 lc rgb "#222222" title "ideal (bounded by the cores)"
