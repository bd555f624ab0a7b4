# `make help`: the targets documented with `## ` in the Makefile and mk/*.mk, grouped by file
# (the heading is the file's first comment line, up to its first colon), in a column as wide
# as the longest target. Colour only when `color=1` (the Makefile passes it for a terminal
# without NO_COLOR). Reads the files twice: first for the column width, then to print.
FNR == 1 { pass += (FILENAME == first || first == "") ? 1 : 0; if (first == "") first = FILENAME }
FNR == 1 && pass == 2 {
  heading = (FILENAME == "Makefile") ? "General" : $0
  sub(/^# */, "", heading); sub(/:.*$/, "", heading); sub(/\.$/, "", heading)
  printed_heading = 0
}
/^[a-zA-Z0-9_.-]+:.*## / {
  target = $0; sub(/:.*$/, "", target)
  text = $0; sub(/^[^#]*## /, "", text)
  if (pass == 1) { if (length(target) > width) width = length(target); next }
  if (!printed_heading) {
    printf "%s%s%s\n", (NR > 1 && shown ? "\n" : ""), (color ? "\033[1m" : ""), heading (color ? "\033[0m" : "")
    printed_heading = 1; shown = 1
  }
  if (color) printf "  \033[36m%-*s\033[0m  %s\n", width, target, text
  else printf "  %-*s  %s\n", width, target, text
}
