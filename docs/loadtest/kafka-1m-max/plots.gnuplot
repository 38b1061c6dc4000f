set terminal pngcairo size 1000,420 font "sans,10"
set datafile separator "\t"
set datafile missing "NaN"
set grid
set key top left
set xlabel "seconds since start"
set output "/tmp/lt-max/throughput.png"
set title "Throughput"
set ylabel "per second"
plot "/tmp/lt-max/timeseries.tsv" using 1:2 with linespoints lw 2 pt 7 ps 0.3 title "documents/s", \
     "" using 1:3 with linespoints lw 2 pt 7 ps 0.3 title "lists decided/s"
set output "/tmp/lt-max/latency.png"
set title "Latency from a list's completing document to its decision"
set ylabel "milliseconds"
set logscale y
plot "/tmp/lt-max/timeseries.tsv" using 1:4 with linespoints lw 2 pt 7 ps 0.3 title "p50", \
     "" using 1:5 with linespoints lw 2 pt 7 ps 0.3 title "p95", \
     "" using 1:6 with linespoints lw 2 pt 7 ps 0.3 title "p99", \
     "" using 1:7 with points pt 7 ps 0.4 title "max"
unset logscale y
set output "/tmp/lt-max/resources.png"
set title "Process"
set ylabel "resident set, MB"
set y2label "CPU, cores"
set ytics nomirror
set y2tics
plot "/tmp/lt-max/timeseries.tsv" using 1:8 with linespoints lw 2 pt 7 ps 0.3 title "RSS (MB)", \
     "/tmp/lt-max/timeseries.tsv" using 1:9 axes x1y2 with linespoints lw 2 pt 7 ps 0.3 title "CPU (cores)"
