"""The listening page, opened in headless Chromium: no script errors, every player loads its clip."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from _reports_support import build_results
from bench.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Audio(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.audio: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "audio":
            self.audio.append(dict(attrs))


def _audio(html_text: str) -> list[dict[str, str | None]]:
    parser = _Audio()
    parser.feed(html_text)
    return parser.audio


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("listen")
    run_dir = build_results(root)
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    return run_dir / "report" / "listening" / "index.html"


def test_every_source_is_a_file_inside_the_page_folder(page: Path) -> None:
    audio = _audio(page.read_text())
    # 9 items: inputs (9) + enrollments (3) + references (6) + ok outputs (45 jobs - 6 unsupported - 4 failed)
    assert len(audio) == 9 + 3 + 6 + 35
    for element in audio:
        target = (page.parent / unquote(element["src"] or "")).resolve()
        assert target.is_file() and page.parent.resolve() in target.parents


def test_page_lists_failures_and_scores(page: Path) -> None:
    text = page.read_text()
    assert "failed: BadOutputError: output contains NaN" in text
    assert "not supported" in text
    assert '<td class="num">3.25</td>' in text  # f-12-4 on fileid_6, DNSMOS_OVRL


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_loads_page_and_every_clip(page: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    states = re.findall(r'<audio[^>]*data-state="([a-z]+)"', result.stdout)
    assert len(states) == len(_audio(page.read_text()))
    assert set(states) == {"ok"}, states


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_flags_a_missing_clip(page: Path, tmp_path: Path) -> None:
    """The check above can fail: delete one clip and the page marks its player."""
    broken = tmp_path / "broken"
    shutil.copytree(page.parent, broken)
    victim = next((broken / "audio").rglob("out-seflow_f-12-4-*.wav"))
    victim.unlink()
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=8000", "--dump-dom",
         (broken / "index.html").as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    states = re.findall(r'<audio[^>]*data-state="([a-z]+)"', result.stdout)
    assert states.count("error") == 1
