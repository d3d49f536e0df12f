"""Figures: per subset, bounds left out, n shown, sizes capped, fronts right for one point, labels that
do not overlap, heatmaps on one colour scale per metric with their values printed."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
import soundfile as sf

import reports.plots as plots
from _reports_support import FixtureMOS, build_results
from bench.item import Item
from bench.store import ResultStore
from bench.system import SystemCard
from reports.aggregate import aggregate, load_run
from reports.plots import (MAX_INCHES, distribution_panels, pareto_front, pareto_panel, place_labels, shared_norm,
                           write_plots)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    return load_run(build_results(tmp_path_factory.mktemp("plots"), with_audio=False))


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> dict[str, plt.Figure]:
    """Every figure the plot functions would save, by file stem, left open for inspection."""
    kept: dict[str, plt.Figure] = {}

    def keep(fig: plt.Figure, out_dir: Path, stem: str, formats) -> list[Path]:
        kept[stem] = fig
        return [out_dir / f"{stem}.{fmt}" for fmt in formats]

    monkeypatch.setattr(plots, "_save", keep)
    yield kept
    for fig in kept.values():
        plt.close(fig)


def test_pareto_front_keeps_only_undominated_points() -> None:
    cost = np.array([1.0, 2.0, 3.0, 4.0, 2.5])
    quality = np.array([2.0, 1.5, 3.0, 2.9, 3.0])
    assert list(pareto_front(cost, quality, True)) == [0, 4]   # 2.5 reaches 3.0 before 3.0 does
    assert list(pareto_front(cost, -quality, False)) == [0, 4]


def test_a_single_point_draws_no_front_and_no_legend() -> None:
    fig, ax = plt.subplots()
    pareto_panel(ax, np.array([1e6]), np.array([2.5]), True)
    assert ax.get_lines() == [] and ax.get_legend() is None
    fig2, ax2 = plt.subplots()
    pareto_panel(ax2, np.array([1e5, 1e6, 3e6]), np.array([2.0, 2.5, 2.4]), True)
    assert len(ax2.get_lines()) == 1 and ax2.get_legend() is not None
    plt.close(fig)
    plt.close(fig2)


def test_labels_do_not_overlap() -> None:
    """48 SEFlow points crowd the low-cost corner; every placed label is clear of the others."""
    blocks, heads = np.meshgrid(np.arange(1, 13), np.arange(1, 5))
    x = (blocks * heads * 1e4).ravel().astype(float)
    y = (2.0 + 0.02 * blocks + 0.01 * heads).ravel()
    labels = [f"seflow@f-{b}-{h}" for b, h in zip(blocks.ravel(), heads.ravel())]
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    pareto_panel(ax, x, y, True)
    fig.canvas.draw()
    left_out = place_labels(ax, x, y, labels)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) + len(left_out) == len(labels) and len(boxes) >= 12
    inside = ax.get_window_extent(renderer)
    for i, box in enumerate(boxes):
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
        assert not any(box.overlaps(other) for other in boxes[i + 1:])
    plt.close(fig)


def test_figures_per_subset(run, tmp_path: Path) -> None:
    written = write_plots(run, aggregate(run), tmp_path / "plots", formats=("png",))
    names = sorted(p.name for p in written)
    for stem in ("pareto_params_dns_no_reverb", "pareto_macs_per_second_libri2mix", "seflow_grid_dns",
                 "distribution_dns_no_reverb", "distribution_dns_real_recordings", "distribution_libri2mix"):
        assert f"{stem}.png" in names
    for path in written:
        assert path.read_bytes()[:8].startswith(b"\x89PNG")


def test_column_selection_limits_the_panels(run, tmp_path: Path) -> None:
    written = write_plots(run, aggregate(run), tmp_path / "wer", formats=("png",), columns=["WER"])
    assert sorted(p.name for p in written) == ["distribution_libri2mix.png", "pareto_macs_per_second_libri2mix.png",
                                               "pareto_params_libri2mix.png", "seflow_grid_libri2mix.png"]


def test_distributions_leave_bounds_out_name_them_and_show_n(run, figures) -> None:
    panels = distribution_panels(run, "dns", "no_reverb")
    names = [n for _, _, labels, _ in panels for n in labels]
    assert not any(n.startswith("oracle") for n in names)
    assert "seflow@f-12-4 (n=3)" in names
    plots.plot_distributions(run, Path("unused"), formats=("png",))
    titles = [ax.get_title() for ax in figures["distribution_dns_no_reverb"].axes]
    assert any("not drawn: oracle 4.64" in t for t in titles)
    assert figures["distribution_dns_no_reverb"].get_suptitle().endswith("(small sample: n = 3 items)")


def test_heatmap_scale_shared_per_metric_with_values_printed(run, figures) -> None:
    plots.plot_seflow_heatmaps(run, aggregate(run), Path("unused"), formats=("png",))
    fig = figures["seflow_grid_dns"]
    panels = [ax for ax in fig.axes if ax.images]
    by_metric: dict[str, list] = {}
    for ax in panels:
        by_metric.setdefault(ax.get_subplotspec().colspan.start, []).append(ax.images[0].norm)
    for norms in by_metric.values():
        assert len({(n.vmin, n.vmax) for n in norms}) == 1  # every subset of a metric: one scale
    printed = [t.get_text() for ax in panels for t in ax.texts]
    assert "3.25" in printed and "0.955" in printed
    # PESQ 2.10 vs 2.10 (and DNSMOS 3.00 vs 3.25): the scale is at least 5% of the metric's range wide
    norm = shared_norm(np.array([2.10, 2.12]), -0.5, 4.5)
    assert norm.vmax - norm.vmin == pytest.approx(0.25)
    assert shared_norm(np.array([1.0, 3.0]), -0.5, 4.5).vmax == pytest.approx(3.0)


def _crowded_run(root: Path, n_systems: int = 53) -> Path:
    data = root / "data"
    data.mkdir(parents=True)
    noisy = data / "x.wav"
    sf.write(noisy, np.zeros(1600, dtype=np.float32), 16000)
    store = ResultStore(root / "runs" / "many" / "results.sqlite")
    run_id = store.start_run("many", {"seed": 0, "testsets": [{"name": "pairs", "root": str(data)}]}, {})
    labels = [f"seflow@f-{1 + k % 12}-{1 + k // 12}" if k < 48 else f"baseline-{k}" for k in range(n_systems)]
    for k, label in enumerate(labels):
        store.record_system(run_id, label, SystemCard(label.split("@")[0], label.split("@")[-1], "1", ("denoise",), None,
                                                      params=1000 * (k + 1), macs_per_second=1e6 * (k + 1)))
    store.record_columns(run_id, FixtureMOS())
    rng = np.random.default_rng(0)
    for i in range(6):
        item = Item(id=f"item{i}", task="denoise", subset="s", input=noisy)
        for label in labels:
            store.record_output(run_id, label, "pairs", item, "ok", None, str(noisy), 0.1)
            store.record_scores(run_id, label, "pairs", item, {"DNSMOS_OVRL": float(rng.uniform(2, 3.5))})
    store.close()
    return root / "runs" / "many"


def test_sizes_are_capped_for_53_systems(tmp_path: Path) -> None:
    run = load_run(_crowded_run(tmp_path))
    written = write_plots(run, aggregate(run), tmp_path / "plots", formats=("png",))
    limit = MAX_INCHES * plots.DPI
    for path in written:
        height, width = mpimg.imread(path).shape[:2]
        assert width <= limit and height <= limit, (path.name, width, height)
    assert len(distribution_panels(run, "pairs", "s")) == 3  # 53 systems: facets of at most 20
