"""The listening page, opened in headless Chromium: every clip and spectrogram loads, nothing overflows
at 1400 px, A/B switching keeps the playback position, the filter and groups hide rows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
import soundfile as sf

from _reports_support import FixtureMOS, build_results
from bench.cli import main
from bench.item import Item
from bench.metric import Column
from bench.store import ResultStore
from bench.system import SystemCard
from reports.spectrogram import power_db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


class _Media(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.media: dict[str, list[dict[str, str | None]]] = {"audio": [], "img": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.media:
            self.media[tag].append(dict(attrs))


def _media(html_text: str, tag: str) -> list[dict[str, str | None]]:
    parser = _Media()
    parser.feed(html_text)
    return parser.media[tag]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("listen")
    run_dir = build_results(root)
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    return run_dir / "report" / "listening" / "index.html"


def chromium_dom(page: Path, profile: Path, *, probe: str = "", width: int = 1400) -> tuple[str, str]:
    """(DOM after load, stderr) of ``page`` opened headless; ``probe`` is a script appended to a copy."""
    target = page
    if probe:
        target = page.with_name("probe.html")
        target.write_text(page.read_text().replace("</body>", f"<script>{probe}</script>\n</body>"))
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         "--autoplay-policy=no-user-gesture-required", f"--window-size={width},900", "--enable-logging=stderr",
         "--v=0", "--virtual-time-budget=10000", "--dump-dom", target.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def test_every_source_is_a_file_inside_the_page_folder(page: Path) -> None:
    text = page.read_text()
    audio = _media(text, "audio")
    # 9 items: inputs (9) + enrollments (3) + references (6) + ok outputs (45 jobs - 6 unsupported - 4 failed)
    assert len(audio) == 9 + 3 + 6 + 35
    images = _media(text, "img")
    assert len(images) == len(audio)  # a spectrogram beside every player
    for element in audio + images:
        target = (page.parent / unquote(element["src"] or "")).resolve()
        assert target.is_file() and page.parent.resolve() in target.parents


def test_page_lists_failures_scores_and_puts_the_reference_under_the_input(page: Path) -> None:
    text = page.read_text()
    assert "failed: BadOutputError: output contains NaN" in text
    assert "not supported" in text
    assert '<td class="num">3.25</td>' in text  # f-12-4 on fileid_6, DNSMOS_OVRL
    first = text.split('<section class="item"')[1]
    signals = re.findall(r'<td class="signal"[^>]*>([^<]+)</td>', first)
    assert signals[:3] == ["Input (unprocessed)", "Reference (clean)", "unprocessed"]
    assert 'class="warning">Small samples: 25 of 25 cells' in text
    assert '<tr class="group-head" data-group="seflow">' in text and "▾ seflow (2)" in text


def test_spectrograms_are_drawn_once(page: Path) -> None:
    folder = page.parent / "spectrograms"
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.png")}
    # distinct clip contents: every input, reference, enrollment and output file differs in the fixture
    assert len(before) == len({(page.parent / unquote(a["src"])).read_bytes() for a in _media(page.read_text(), "audio")})
    run_dir = page.parents[2]
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.png")}
    assert after == before


def test_spectrogram_shows_a_tone_where_it_is() -> None:
    rate = 16000
    t = np.arange(rate) / rate
    image = power_db(np.sin(2 * np.pi * 2000 * t), rate)
    row = int(np.argmax(image.mean(axis=1)))
    assert abs(row / image.shape[0] * rate / 2 - 2000) < rate / 2 / image.shape[0] * 1.5
    assert image.max() == pytest.approx(0.0, abs=3.0)  # a full-scale sine is 0 dB (less the bin pooling)


@needs_chromium
def test_chromium_loads_every_clip_and_image(page: Path, tmp_path: Path) -> None:
    dom, stderr = chromium_dom(page, tmp_path / "profile")
    console = [line for line in stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    audio = re.findall(r'<audio[^>]*data-state="([a-z]+)"', dom)
    images = re.findall(r'<img[^>]*data-state="([a-z]+)"', dom)
    assert len(audio) == len(_media(page.read_text(), "audio")) and set(audio) == {"ok"}
    assert len(images) == len(_media(page.read_text(), "img")) and set(images) == {"ok"}


@needs_chromium
def test_chromium_flags_a_missing_clip_and_image(page: Path, tmp_path: Path) -> None:
    """The check above can fail: delete one clip and one image and the page marks them."""
    broken = tmp_path / "broken"
    shutil.copytree(page.parent, broken)
    next((broken / "audio").rglob("out-seflow_f-12-4-*.wav")).unlink()
    next((broken / "spectrograms").glob("*.png")).unlink()
    dom, _ = chromium_dom(broken / "index.html", tmp_path / "profile")
    assert re.findall(r'<audio[^>]*data-state="([a-z]+)"', dom).count("error") == 1
    assert re.findall(r'<img[^>]*data-state="([a-z]+)"', dom).count("error") >= 1


AB_PROBE = """
(async () => {
  const out = document.body.dataset;
  const once = (target, type) => new Promise((resolve) => target.addEventListener(type, resolve, {once: true}));
  const item = document.querySelector('section.item');
  const audioOf = (label) => [...item.querySelectorAll('tr[data-system]')].find((r) => r.dataset.system === label).querySelector('audio');
  document.getElementById('ab-a').value = 'seflow@f-1-1';
  document.getElementById('ab-b').value = 'seflow@f-12-4';
  document.getElementById('ab-b').dispatchEvent(new Event('change'));
  const a = audioOf('seflow@f-1-1'), b = audioOf('seflow@f-12-4');
  a.muted = b.muted = true;
  // The clips last 0.25 s: at 1/16 speed neither reaches its end while the probe looks, however
  // loaded the machine (at full speed a slow switch found A and B both ended, i.e. paused).
  a.defaultPlaybackRate = b.defaultPlaybackRate = a.playbackRate = b.playbackRate = 0.0625;
  a.currentTime = 0.1;
  await a.play();  // resolves once A really plays
  const bPlays = once(b, 'playing');
  const switchedAt = a.currentTime;
  document.dispatchEvent(new KeyboardEvent('keydown', {key: 'x'}));
  const deadline = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000));
  out.abWait = (await Promise.race([bPlays, deadline])) === 'timeout' ? 'B never started' : 'ok';
  out.abA = a.paused ? 'paused' : 'playing';
  out.abB = b.paused ? 'paused' : 'playing';
  out.abTime = b.currentTime >= 0.1 && Math.abs(b.currentTime - switchedAt) < 0.05 ? 'kept'
    : 'lost: B at ' + b.currentTime + ', A was at ' + switchedAt;
  out.abMarked = item.querySelectorAll('tr.ab-a, tr.ab-b').length;
  const filter = document.getElementById('filter');
  filter.value = 'f-12';
  filter.dispatchEvent(new Event('input'));
  out.filtered = [...item.querySelectorAll('tr[data-system]')].filter((r) => !r.classList.contains('hidden')).map((r) => r.dataset.system).join(',');
  filter.value = '';
  filter.dispatchEvent(new Event('input'));
  const box = [...document.querySelectorAll('input.group')].find((c) => c.value === 'seflow');
  box.checked = false;
  box.dispatchEvent(new Event('change'));
  out.grouped = [...item.querySelectorAll('tr[data-system]')].filter((r) => !r.classList.contains('hidden')).length;
  item.querySelector('tr.group-head button').click();
  out.collapsed = item.querySelector('tbody[data-group="seflow"]').classList.contains('collapsed');
})();
"""


@needs_chromium
def test_ab_switch_filter_and_groups(page: Path, tmp_path: Path) -> None:
    """Event-driven: the probe switches as soon as A plays and reads B when its ``playing`` event
    fires, with no fixed sleep that a loaded machine could outrun."""
    dom, _ = chromium_dom(page, tmp_path / "profile", probe=AB_PROBE)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    state = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body))
    assert state.get("ab-wait") == "ok", state
    assert state["ab-a"] == "paused" and state["ab-b"] == "playing" and state["ab-time"] == "kept", state
    assert state["ab-marked"] == "2"
    assert state["filtered"] == "seflow@f-12-4"
    assert state["grouped"] == str(5 - 2)  # the two seflow rows hidden
    assert state["collapsed"] == "true"


OVERFLOW_PROBE = """
window.addEventListener('load', () => {
  const out = document.body.dataset;
  out.pageWidth = document.documentElement.scrollWidth;
  out.viewWidth = document.documentElement.clientWidth;
  const scroller = document.querySelector('section.item .scroll');
  out.tableScrolls = scroller.scrollWidth > scroller.clientWidth ? 'yes' : 'no';
});
"""


def _wide_run(root: Path) -> Path:
    """24 systems with long labels and 9 score columns: what made the old page 14,500 px long and overflow."""
    data = root / "data"
    data.mkdir(parents=True)
    rate = 16000
    noisy = data / "noisy.wav"
    sf.write(noisy, (0.1 * np.random.default_rng(0).standard_normal(rate // 2)).astype(np.float32), rate)
    store = ResultStore(root / "runs" / "wide" / "results.sqlite")
    run_id = store.start_run("wide", {"seed": 0, "testsets": [{"name": "pairs", "root": str(data)}]}, {})
    labels = [f"a-rather-long-system-name-{k:02d}@variant-{k}" for k in range(24)]
    for label in labels:
        store.record_system(run_id, label, SystemCard(label.split("@")[0][:-3], label.split("@")[1], "1", ("denoise",), None))

    class Wide(FixtureMOS):
        columns = tuple(Column(f"SCORE_COLUMN_{i}", True) for i in range(9))

    store.record_columns(run_id, Wide())
    item = Item(id="clip", task="denoise", subset="s", input=noisy)
    for label in labels:
        store.record_output(run_id, label, "pairs", item, "ok", None, str(noisy), 0.1)
        store.record_scores(run_id, label, "pairs", item, {f"SCORE_COLUMN_{i}": 1234.5 + i for i in range(9)})
    store.close()
    return root / "runs" / "wide"


@needs_chromium
def test_no_horizontal_overflow_at_1400_px(tmp_path: Path) -> None:
    run_dir = _wide_run(tmp_path)
    assert main(["report", str(run_dir), "--format", "html", "--quiet"]) == 0
    page = run_dir / "report" / "listening" / "index.html"
    dom, _ = chromium_dom(page, tmp_path / "profile", probe=OVERFLOW_PROBE, width=1400)
    state = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', re.search(r"<body([^>]*)>", dom).group(1)))
    assert int(state["page-width"]) <= int(state["view-width"]) <= 1400, state
    assert state["table-scrolls"] == "yes"  # the nine columns scroll inside their card instead


def test_aec_items_show_their_talk_type(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    mic, far = data / "mic.wav", data / "lpb.wav"
    for path in (mic, far):
        sf.write(path, (0.1 * np.random.default_rng(1).standard_normal(8000)).astype(np.float32), 16000)
    store = ResultStore(tmp_path / "runs" / "aec" / "results.sqlite")
    run_id = store.start_run("aec", {"seed": 0, "testsets": [{"name": "aec-challenge", "root": str(data)}]}, {})
    store.record_system(run_id, "speex-aec", SystemCard("speex-aec", "default", "1", ("aec",), 16000), position=0)
    store.record_columns(run_id, FixtureMOS())
    for position, talk in enumerate(("double_talk", "farend_single_talk")):
        item = Item(id=f"clip{position}", task="aec", subset="s", input=mic, far_end=far, talk_type=talk)
        store.record_output(run_id, "speex-aec", "aec-challenge", item, "ok", None, str(mic), 0.1, position=position)
    store.close()
    assert main(["report", str(tmp_path / "runs" / "aec"), "--format", "html", "--quiet"]) == 0
    text = (tmp_path / "runs" / "aec" / "report" / "listening" / "index.html").read_text()
    assert "(aec; double talk)" in text and "(aec; farend single talk)" in text
    assert "Far-end reference" in text


def test_separation_items_keep_and_show_every_reference(tmp_path: Path) -> None:
    """The store kept only a separation item's first reference, so its page played one source of two."""
    data = tmp_path / "data"
    data.mkdir()
    mix, s1, s2 = data / "mix.wav", data / "s1.wav", data / "s2.wav"
    for seed, path in enumerate((mix, s1, s2)):
        sf.write(path, (0.1 * np.random.default_rng(seed).standard_normal(8000)).astype(np.float32), 16000)
    store = ResultStore(tmp_path / "runs" / "sep" / "results.sqlite")
    run_id = store.start_run("sep", {"seed": 0, "testsets": [{"name": "libri2mix", "root": str(data)}]}, {})
    store.record_system(run_id, "unprocessed", SystemCard("unprocessed", "default", "1", ("separation",), None), position=0)
    store.record_columns(run_id, FixtureMOS())
    item = Item(id="mix", task="separation", subset="s", input=mix, reference=s1, extra_references=(s2,))
    store.record_output(run_id, "unprocessed", "libri2mix", item, "ok", None, str(mix), 0.1, position=0)
    assert store.outputs_frame(run_id)["extra_reference_paths"].tolist() == [f'["{s2}"]']
    store.close()
    assert main(["report", str(tmp_path / "runs" / "sep"), "--format", "html", "--quiet"]) == 0
    page = tmp_path / "runs" / "sep" / "report" / "listening" / "index.html"
    text = page.read_text()
    assert "Reference 1 (clean)" in text and "Reference 2 (clean)" in text
    played = {unquote(clip["src"]) for clip in _media(text, "audio")}
    copies = {(page.parent / src).read_bytes() for src in played}
    assert s2.read_bytes() in copies and s1.read_bytes() in copies
