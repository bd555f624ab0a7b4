"""`make bench-pod`: one pod's capacity measured inside the chart's own CPU and memory limits."""
