"""Figures: the Pareto front is right, and every expected PNG/PDF is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from _reports_support import build_results
from reports.aggregate import aggregate, load_run
from reports.plots import pareto_front, plot_seflow_heatmaps, write_plots


def test_pareto_front_keeps_only_undominated_points() -> None:
    cost = np.array([1.0, 2.0, 3.0, 4.0, 2.5])
    quality = np.array([2.0, 1.5, 3.0, 2.9, 3.0])
    assert list(pareto_front(cost, quality, True)) == [0, 4]   # 2.5 reaches 3.0 before 3.0 does
    assert list(pareto_front(cost, -quality, False)) == [0, 4]


def test_all_figures_written(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    written = write_plots(run, aggregate(run), tmp_path / "plots", formats=("png",))
    written += plot_seflow_heatmaps(run, aggregate(run), tmp_path / "plots", formats=("pdf",))
    names = sorted(p.name for p in written)
    for stem in ("pareto_params_dns", "pareto_macs_per_second_libri2mix", "seflow_grid_dns", "distribution_libri2mix"):
        assert f"{stem}.png" in names
    assert {"seflow_grid_dns.pdf", "seflow_grid_libri2mix.pdf"} <= set(names)
    for path in written:
        head = path.read_bytes()[:8]
        assert head.startswith(b"\x89PNG") if path.suffix == ".png" else head.startswith(b"%PDF")


def test_column_selection_limits_the_panels(tmp_path: Path) -> None:
    run = load_run(build_results(tmp_path, with_audio=False))
    written = write_plots(run, aggregate(run), tmp_path / "wer", formats=("png",), columns=["WER"])
    assert sorted(p.name for p in written) == ["distribution_libri2mix.png", "pareto_macs_per_second_libri2mix.png",
                                               "pareto_params_libri2mix.png", "seflow_grid_libri2mix.png"]
