# The worst lateness in each window of the run. Variables: dat, out, n, ylab.
load tmpl.'/common.gp'
set logscale y
set xlabel "time into the run (s)"
set ylabel ylab
plot for [i=0:n-1] dat index i using 1:2 with lines lw 1.5 title columnheader(1)
