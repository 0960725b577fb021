# Round trip between processes against payload size per transport, log-log, with the
# cache-line hand-over as the floor. Variables: dat, out, n, floor (<0: unknown).
load tmpl.'/common.gp'
set logscale xy
set xlabel "payload (bytes)"
set ylabel "round trip (µs)"
plot for [i=0:n-1] dat index i using 1:2 with linespoints pt 7 lw 2 title columnheader(1), \
     (floor > 0 ? floor : 1/0) with lines lw 2 dt 2 lc rgb "#c62828" title "cache-line floor"
