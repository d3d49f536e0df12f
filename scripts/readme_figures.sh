#!/usr/bin/env bash
# The README's report figures:
#   docs/img/listening_page.png  the listening page (spectrograms, A/B, groups) in headless Chromium
#   docs/img/latex_table.png     results.tex, unedited, compiled in a two-column article (pdflatex), its first pages side by side
#   docs/img/leaderboard.png     the DNS leaderboard page (examples/leaderboard.yaml), its first board whole
# The first two come from a small real run (about 5 minutes on 2 cores); the leaderboard needs the
# runs runs/dns-baselines and runs/dns-seflow (examples/leaderboard_baselines.yaml, _seflow.yaml).
#   scripts/readme_figures.sh                 # all three
#   scripts/readme_figures.sh leaderboard     # only docs/img/leaderboard.png (also: report)
# Needs chromium, pdflatex and pdftoppm (apt-get install chromium texlive-latex-recommended poppler-utils).
# SEBENCH="python -m bench.cli" runs a checkout's own code instead of the installed command.
set -euo pipefail
cd "$(dirname "$0")/.."
SEBENCH=${SEBENCH:-sebench}
TARGETS=${*:-report leaderboard}
CHROMIUM=(chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars)

# fit_window PAGE WIDTH: "W,H" of a window that shows PAGE's first tab whole. The window is widened
# until nothing sticks out on the right (a wide board overflows the page's 1800 px body, and a
# fixed --window-size cut its last columns off) and is as tall as the visible tab.
fit_window() {
  python3 - "$1" "$2" "${CHROMIUM[@]}" <<'PY'
import re, subprocess, sys, tempfile
from pathlib import Path
page, width, chromium = Path(sys.argv[1]).resolve(), int(sys.argv[2]), sys.argv[3:]
probe = page.with_name(".fit-window-probe.html")
probe.write_text(page.read_text().replace("</body>", """<script>addEventListener('load', () => {
  const out = document.body.dataset;
  const tab = [...document.querySelectorAll('section[role=tabpanel]')].find((p) => !p.hidden) || document.body;
  out.fitWidth = document.documentElement.scrollWidth;
  out.fitHeight = Math.ceil(tab.getBoundingClientRect().bottom + scrollY);
});</script></body>"""))
try:
    for _ in range(10):
        with tempfile.TemporaryDirectory() as profile:
            dom = subprocess.run([*chromium, f"--user-data-dir={profile}", f"--window-size={width},1000",
                                  "--virtual-time-budget=3000", "--dump-dom", probe.as_uri()],
                                 capture_output=True, text=True, check=True).stdout
        needed = int(re.search(r'data-fit-width="(\d+)"', dom).group(1))
        height = int(re.search(r'data-fit-height="(\d+)"', dom).group(1))
        if needed <= width:
            break
        width = needed  # the centred body moves right as the window grows: measure again
    print(f"{width},{height + 24}")
finally:
    probe.unlink()
PY
}

report_figures() {
RUN=readme-figures
OUT=runs/$RUN/report

$SEBENCH run --name $RUN --overwrite --testset 'synthetic:subsets=no_reverb+plc+aec' --limit 3 --no-progress \
  --system unprocessed --system oracle --system silence --system noisereduce --system speex-aec \
  --system plc-repeat --system 'seflow@f-1-1,f-12-4' \
  --metric dnsmos --metric pesq --metric stoi --metric sisdr --metric plcmos --metric erle > /dev/null
$SEBENCH report runs/$RUN --format html,tex --max-items 1 --out $OUT --quiet \
  --columns DNSMOS_OVRL,PESQ_WB,STOI,SISDR,PLCMOS,ERLE

"${CHROMIUM[@]}" \
  --user-data-dir="$(mktemp -d)" --window-size=1400,1500 --virtual-time-budget=5000 \
  --screenshot=docs/img/listening_page.png "file://$PWD/$OUT/listening/index.html" 2> /dev/null

TEX=$(mktemp -d)
cp docs/latex/two_column.tex "$TEX/paper.tex"
cp $OUT/results.tex "$TEX/tables.tex"
for pass in 1 2; do  # twice: the continued table refers to the first by number
  (cd "$TEX" && pdflatex -interaction=nonstopmode -halt-on-error paper.tex > /dev/null)
done
pdftoppm -png -r 80 -f 1 -l 2 "$TEX/paper.pdf" "$TEX/page"
python3 - "$TEX" <<'PY'
import sys
from pathlib import Path
from PIL import Image  # matplotlib's dependency
pages = [Image.open(p).convert("RGB") for p in sorted(Path(sys.argv[1]).glob("page-*.png"))]
sheet = Image.new("RGB", (sum(p.width for p in pages) + 8 * (len(pages) - 1), max(p.height for p in pages)), "#888")
x = 0
for page in pages:
    sheet.paste(page, (x, 0))
    x += page.width + 8
sheet.save("docs/img/latex_table.png", optimize=True)
PY
echo "wrote docs/img/listening_page.png docs/img/latex_table.png"
}

leaderboard_figure() {
  for run in runs/dns-baselines runs/dns-seflow; do
    [ -f $run/results.sqlite ] || { echo "no $run: make it first (see examples/leaderboard.yaml)" >&2; exit 1; }
  done
  $SEBENCH leaderboard --config examples/leaderboard.yaml --quiet > /dev/null
  local page=leaderboard/dns/index.html size
  size=$(fit_window $page 1800)
  "${CHROMIUM[@]}" --user-data-dir="$(mktemp -d)" --window-size="$size" --virtual-time-budget=3000 \
    --screenshot=docs/img/leaderboard.png "file://$PWD/$page" 2> /dev/null
  python3 - docs/img/leaderboard.png <<'PY'
import sys
from PIL import Image, ImageOps  # matplotlib's dependency
# the wider window centres the page's body: crop the blank margins it leaves on either side
image = Image.open(sys.argv[1]).convert("RGB")
left, _, right, _ = ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 24 else 0).getbbox()
image.crop((max(0, left - 24), 0, min(image.width, right + 24), image.height)).save(sys.argv[1], optimize=True)
PY
  echo "wrote docs/img/leaderboard.png (window $size, blank margins cropped)"
}

for target in $TARGETS; do
  case $target in
    report) report_figures ;;
    leaderboard) leaderboard_figure ;;
    *) echo "unknown figure set $target: choose report or leaderboard" >&2; exit 2 ;;
  esac
done
