# Shared by every figure: SVG, plain text labels (names hold _ and /), a light grid.
set terminal svg size 900,440 dynamic font "sans,12" background rgb "white"
set termoption noenhanced
set output out
set grid lc rgb "#dde3ee"
set border lc rgb "#555555"
set key outside right top noautotitle
set style line 1 lw 2
