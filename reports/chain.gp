# Chain latency percentiles per architecture, clustered bars on a log scale. Variables: dat, out, ylab.
load tmpl.'/common.gp'
set logscale y
set ylabel ylab
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set xtics rotate by -30
set key autotitle columnheader
plot dat using 2:xtic(1), '' using 3, '' using 4, '' using 5
