# CPU (% of one core) and memory (PSS, MB) per architecture. Variables: dat, out.
load tmpl.'/common.gp'
set terminal svg size 900,380 dynamic font "sans,12" background rgb "white"
set output out
set style data histograms
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by -30
set key off
set multiplot layout 1,2
set title "CPU (% of one core)"
set yrange [0:*]
plot dat using 2:xtic(1) lc rgb "#3b6fb6"
set title "memory (PSS, MB)"
plot dat using 3:xtic(1) lc rgb "#8e5bb5"
unset multiplot
