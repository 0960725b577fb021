# Every primitive's price for a small message, horizontal bars on a log scale. Variables: dat, out, rows.
load tmpl.'/common.gp'
set terminal svg size 900,(140 + rows * 15) dynamic font "sans,11" background rgb "white"
set output out
set logscale x
set xlabel "µs per message (log scale)"
set ytics nomirror
set yrange [-1:rows]
set key off
set style fill solid 0.85 border -1
lo = 0.005
set xrange [lo:*]
plot dat using (lo):0:(lo):2:($0-0.35):($0+0.35):ytic(1) skip 1 with boxxyerror lc rgb "#3b6fb6", \
     dat using 2:0:(sprintf(" %.3g", $2)) skip 1 with labels left font "sans,9"
