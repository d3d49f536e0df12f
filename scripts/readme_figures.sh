#!/usr/bin/env bash
# The README's two report figures, from a small real run (about 5 minutes on 2 cores):
#   docs/img/listening_page.png  the listening page (spectrograms, A/B, groups) in headless Chromium
#   docs/img/latex_table.png     results.tex, unedited, compiled in a two-column article (pdflatex), its first pages side by side
# Needs chromium, pdflatex and pdftoppm (apt-get install chromium texlive-latex-recommended poppler-utils).
# SEBENCH="python -m bench.cli" runs a checkout's own code instead of the installed command.
set -euo pipefail
cd "$(dirname "$0")/.."
SEBENCH=${SEBENCH:-sebench}
RUN=readme-figures
OUT=runs/$RUN/report

$SEBENCH run --name $RUN --overwrite --testset 'synthetic:subsets=no_reverb+plc+aec' --limit 3 --no-progress \
  --system unprocessed --system oracle --system silence --system noisereduce --system speex-aec \
  --system plc-repeat --system 'seflow@f-1-1,f-12-4' \
  --metric dnsmos --metric pesq --metric stoi --metric sisdr --metric plcmos --metric erle > /dev/null
$SEBENCH report runs/$RUN --format html,tex --max-items 1 --out $OUT --quiet \
  --columns DNSMOS_OVRL,PESQ_WB,STOI,SISDR,PLCMOS,ERLE

chromium --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
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
