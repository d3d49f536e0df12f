"""A fixed small results set, written through the real ResultStore, for the report tests.

Every per-item score is a literal below, so the golden Markdown/LaTeX files depend on nothing
random. The shape covers what the renderers must handle: two test sets (one with two subsets), a
tie at display precision, a lower-is-better corpus ratio column (WER), a system that does not
support a task (`-`), a partial failure, a metric that does not apply (no reference on a subset)
and a bound row (oracle) that must never be bold.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from bench.item import Item
from bench.metric import Column, Metric, ScoringContext
from bench.store import ResultStore
from bench.system import SystemCard


class _Declared(Metric):
    """Column declarations only: the fixture stores literal scores, nothing is computed."""

    def score(self, ctx: ScoringContext) -> dict[str, float]:
        raise AssertionError("the report fixture never scores audio")


class FixtureMOS(_Declared):
    name = "dnsmos"
    columns = (Column("DNSMOS_OVRL", True, 1.0, 5.0),)


class FixturePESQ(_Declared):
    name = "pesq"
    columns = (Column("PESQ_WB", True, -0.5, 4.5),)


class FixtureSTOI(_Declared):
    name = "stoi"
    columns = (Column("STOI", True, 0.0, 1.0),)


class FixtureWER(_Declared):
    name = "wer"
    columns = (Column("WER", False, 0.0, None, ratio_of=("WER_EDITS", "WER_WORDS")),
               Column("WER_EDITS", False, hidden=True), Column("WER_WORDS", True, hidden=True))


ALL_TASKS = ("aec", "declip", "denoise", "dereverb", "plc", "separation", "tse")
CARDS = {
    "unprocessed": SystemCard("unprocessed", "default", "1", ALL_TASKS, None),
    "oracle": SystemCard("oracle", "default", "1", ALL_TASKS, None),
    "seflow@f-1-1": SystemCard("seflow", "f-1-1", "1", ALL_TASKS, 48000, params=210_000, macs_per_second=0.2e9),
    "seflow@f-12-4": SystemCard("seflow", "f-12-4", "1", ALL_TASKS, 48000, params=5_400_000, macs_per_second=3.1e9),
    "tse-net": SystemCard("tse-net", "default", "2", ("tse",), 16000, params=1_800_000, macs_per_second=1.0e9),
}

# testset -> subset -> (task, has reference, item ids)
LAYOUT = {
    "dns": {"no_reverb": ("denoise", True, ("fileid_0", "fileid_6", "fileid_80")),
            "real_recordings": ("denoise", False, ("car_1", "office_2", "street_3"))},
    "libri2mix": {"libri2mix": ("tse", True, ("mix_a", "mix_b", "mix_c"))},
}

# system -> (testset, subset) -> column -> per-item values (item order as in LAYOUT)
SCORES: dict[str, dict[tuple[str, str], dict[str, list[float]]]] = {
    "unprocessed": {
        ("dns", "no_reverb"): {"DNSMOS_OVRL": [2.40, 2.50, 2.55], "PESQ_WB": [1.50, 1.60, 1.70], "STOI": [0.910, 0.900, 0.920]},
        ("dns", "real_recordings"): {"DNSMOS_OVRL": [2.20, 2.30, 2.28]},
        ("libri2mix", "libri2mix"): {"PESQ_WB": [1.10, 1.20, 1.30], "WER": [0.5, 0.4, 0.6],
                                     "WER_EDITS": [5, 4, 6], "WER_WORDS": [10, 10, 10]},
    },
    "oracle": {
        ("dns", "no_reverb"): {"DNSMOS_OVRL": [3.30, 3.35, 3.40], "PESQ_WB": [4.64, 4.64, 4.64], "STOI": [1.0, 1.0, 1.0]},
        ("dns", "real_recordings"): {},
        ("libri2mix", "libri2mix"): {"PESQ_WB": [4.64, 4.64, 4.64], "WER": [0.0, 0.1, 0.0],
                                     "WER_EDITS": [0, 1, 0], "WER_WORDS": [10, 10, 10]},
    },
    "seflow@f-1-1": {
        ("dns", "no_reverb"): {"DNSMOS_OVRL": [2.90, 3.00, 3.10], "PESQ_WB": [2.00, 2.10, 2.20], "STOI": [0.920, 0.930, 0.925]},
        ("dns", "real_recordings"): {"DNSMOS_OVRL": [2.70, 2.80, 2.90]},
        ("libri2mix", "libri2mix"): {"PESQ_WB": [1.90, 2.00], "WER": [0.3, 0.2],
                                     "WER_EDITS": [3, 2], "WER_WORDS": [10, 10]},
    },
    "seflow@f-12-4": {
        ("dns", "no_reverb"): {"DNSMOS_OVRL": [3.20, 3.25, 3.30], "PESQ_WB": [2.05, 2.10, 2.15], "STOI": [0.950, 0.955, 0.960]},
        ("dns", "real_recordings"): {"DNSMOS_OVRL": [3.00, 3.10, 3.05]},
        ("libri2mix", "libri2mix"): {"PESQ_WB": [2.50, 2.40, 2.60], "WER": [0.1, 0.2, 0.0],
                                     "WER_EDITS": [1, 2, 0], "WER_WORDS": [10, 10, 10]},
    },
    "tse-net": {
        ("libri2mix", "libri2mix"): {"PESQ_WB": [2.20, 2.30, 2.10], "WER": [0.1, 0.1, 0.15],
                                     "WER_EDITS": [1, 1, 6], "WER_WORDS": [10, 10, 40]},
    },
}
FAILED = {("seflow@f-1-1", "libri2mix", "mix_c"): "BadOutputError: output contains NaN"}
NO_REFERENCE_FAIL = {("oracle", "dns", sid) for sid in LAYOUT["dns"]["real_recordings"][2]}


def _tone(path: Path, freq: float, seed: int) -> Path:
    rate = 16000
    t = np.arange(rate // 4) / rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    sf.write(path, (0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * noise).astype(np.float32), rate)
    return path


def build_results(root: Path, *, with_audio: bool = True, seed: int = 0, scale: float = 1.0,
                  shuffle: int | None = None, testsets: tuple[str, ...] = ("dns", "libri2mix"),
                  positions: bool = True) -> Path:
    """Copy the fixture run into ``root/runs/fixture``; returns the run folder.

    Each variant is written through the store once per test process and copied after that, since
    a store write is one committed transaction and the tests need about thirty runs.
    ``scale`` multiplies seflow@f-12-4's DNSMOS_OVRL to plant a regression; ``shuffle`` records
    the results in a seeded random order, as parallel workers would; ``testsets`` is the order
    the run's config lists the test sets in; ``positions=False`` writes a store as runs did before
    plan positions were recorded.
    """
    run_dir = root / "runs" / "fixture"
    shutil.copytree(_template(with_audio, seed, scale, shuffle, testsets, positions), run_dir)
    return run_dir


@functools.cache
def _template(with_audio: bool, seed: int, scale: float, shuffle: int | None, testsets: tuple[str, ...],
              positions: bool) -> Path:
    root = Path(tempfile.mkdtemp(prefix="sebench-report-fixture-"))
    atexit.register(shutil.rmtree, root, True)
    return _write_results(root, with_audio=with_audio, seed=seed, scale=scale, shuffle=shuffle, testsets=testsets,
                          positions=positions)


def _write_results(root: Path, *, with_audio: bool, seed: int, scale: float, shuffle: int | None,
                   testsets: tuple[str, ...], positions: bool) -> Path:
    run_dir = root / "runs" / "fixture"
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    store = ResultStore(run_dir / "results.sqlite")
    config = {"seed": seed, "testsets": [{"name": name, "root": str(audio)} for name in testsets]}
    run_id = store.start_run("fixture", config, {"sebench": "test"})
    for index, (label, card) in enumerate(CARDS.items()):
        store.record_system(run_id, label, card, position=index if positions else None)
    for metric in (FixtureMOS(), FixturePESQ(), FixtureSTOI(), FixtureWER()):
        store.record_columns(run_id, metric)
    writes = []
    counter = 0
    order = {name: i for i, name in enumerate(testsets)}
    for testset, subsets in sorted(LAYOUT.items(), key=lambda pair: order.get(pair[0], len(order))):
        for subset, (task, has_ref, ids) in subsets.items():
            for index, item_id in enumerate(ids):
                counter += 1
                stem = f"{testset}_{item_id}"
                item = Item(id=item_id, task=task, subset=subset,
                            input=_tone(audio / f"{stem}_noisy.wav", 200 + 10 * counter, counter) if with_audio else audio / f"{stem}_noisy.wav",
                            reference=(_tone(audio / f"{stem}_clean.wav", 200 + 10 * counter, 0) if with_audio else audio / f"{stem}_clean.wav") if has_ref else None,
                            enrollment=(_tone(audio / f"{stem}_enrol.wav", 300, counter) if with_audio else None) if task == "tse" else None)
                for label, card in CARDS.items():
                    writes.append((label, card, testset, item, index, counter))
    if shuffle is not None:
        np.random.default_rng(shuffle).shuffle(writes)
    for label, card, testset, item, index, counter in writes:
        _record(store, run_id, audio, label, card, testset, item, index, counter, with_audio=with_audio, scale=scale,
                position=counter - 1 if positions else None)
    return run_dir


def _record(store: ResultStore, run_id: str, audio: Path, label: str, card: SystemCard, testset: str, item: Item,
            index: int, counter: int, *, with_audio: bool, scale: float, position: int | None) -> None:
    if item.task not in card.tasks:
        store.record_output(run_id, label, testset, item, "unsupported", position=position)
        return
    failure = FAILED.get((label, testset, item.id))
    if (label, testset, item.id) in NO_REFERENCE_FAIL:
        failure = "ValueError: item has no clean reference, so the oracle has nothing to return"
    if failure:
        store.record_output(run_id, label, testset, item, "failed", failure, None, 0.01, position=position)
        return
    output = audio / f"{testset}_{item.id}_{label.replace('@', '_')}.wav"
    if with_audio:
        _tone(output, 200 + 10 * counter, 1000 + counter)
    store.record_output(run_id, label, testset, item, "ok", None, str(output), 0.05, position=position)
    values = {col: vals[index] for col, vals in SCORES[label][(testset, item.subset)].items()}
    if label == "seflow@f-12-4" and "DNSMOS_OVRL" in values:
        values["DNSMOS_OVRL"] *= scale
    store.record_scores(run_id, label, testset, item, values)
