"""DNSMOS: parity with speechmos's own entry point, windowing, personalized option, silence."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
from speechmos import dnsmos as speechmos_dnsmos

from _metrics_support import OTHER_SENTENCE, make_item, noisy, score, speech
from bench.audio import load_audio
from bench.metrics._melspec import mel_filterbank, mos_features
from bench.metrics._common import onnx_session
from bench.metrics._p835_split import SplitP835
from bench.metrics.dnsmos import DNSMOS, filled, model_paths, window_bounds

COLUMNS = {"DNSMOS_SIG": "sig_mos", "DNSMOS_BAK": "bak_mos", "DNSMOS_OVRL": "ovrl_mos", "DNSMOS_P808": "p808_mos"}


@pytest.fixture(scope="module")
def metric() -> DNSMOS:
    m = DNSMOS()
    m.load()
    return m


def _assert_parity(got: dict[str, float], expected: dict, prefix: str = "DNSMOS") -> None:
    for column, key in COLUMNS.items():
        assert got[column.replace("DNSMOS", prefix)] == pytest.approx(float(expected[key]), abs=1e-3), column


@pytest.mark.parametrize("n_fft,hop,n_mels", [(321, 160, 120), (513, 256, 160)])
def test_mel_front_end_matches_librosa(n_fft: int, hop: int, n_mels: int) -> None:
    audio = noisy(speech(), 10.0)
    assert np.allclose(mel_filterbank(16000, n_fft, n_mels), librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=n_mels), atol=1e-7)
    mel = librosa.feature.melspectrogram(y=audio, sr=16000, n_fft=n_fft, hop_length=hop, n_mels=n_mels)
    expected = ((librosa.power_to_db(mel, ref=np.max) + 40) / 40).T
    got = mos_features(audio, 16000, n_fft, hop, n_mels)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4


def test_windows_follow_the_dns_challenge_script() -> None:
    short = np.arange(16000 * 4, dtype=np.float32)  # 4 s: doubled twice to 16 s -> 7 windows
    doubled = filled(short)
    windows = [doubled[start:end] for start, end in window_bounds(len(doubled))]
    assert len(windows) == 7 and all(len(w) == 144160 for w in windows)
    assert windows[1][0] == short[16000] and windows[0][16000 * 4] == short[0]
    assert len(window_bounds(len(filled(np.zeros(16000 * 12, np.float32))))) == 3


def test_parity_with_speechmos_short_noisy_clip(tmp_path: Path, metric: DNSMOS) -> None:
    audio = noisy(speech(), 5.0)
    item = make_item(tmp_path, 16000, input=audio)
    got = score(metric, item, audio, 16000)
    _assert_parity(got, speechmos_dnsmos.run(audio, 16000))
    assert set(got) == {*COLUMNS, "DNSMOS_scored_s", "DNSMOS_clip_s"}


def test_parity_on_a_long_clip_at_48k(tmp_path: Path, metric: DNSMOS) -> None:
    other = noisy(speech(OTHER_SENTENCE, "en-us+f2", 48000), 20.0)
    audio48 = np.concatenate([speech(rate=48000), other, speech(rate=48000), other])
    item = make_item(tmp_path, 48000, input=audio48)
    got = score(metric, item, audio48, 48000)
    audio16 = load_audio(tmp_path / "input.wav", 16000)[0]
    assert len(audio16) / 16000 > 11.0  # several windows
    _assert_parity(got, speechmos_dnsmos.run(audio16, 16000))


def test_personalized_option_has_its_own_model_and_columns(tmp_path: Path, metric: DNSMOS) -> None:
    personalized = DNSMOS(personalized="true")
    assert [c.name for c in personalized.columns if not c.hidden] == ["pDNSMOS_SIG", "pDNSMOS_BAK", "pDNSMOS_OVRL",
                                                                      "pDNSMOS_P808"]
    assert "pdnsmos_models/sig_bak_ovr.onnx@sha256:" in personalized.version
    assert personalized.version != metric.version
    audio = noisy(speech(), 5.0)
    got = score(personalized, make_item(tmp_path, 16000, input=audio), audio, 16000)
    _assert_parity(got, speechmos_dnsmos.run(audio, 16000, model_type="dnsmos_personalized"), prefix="pDNSMOS")


def test_cleaner_speech_scores_higher_and_silence_does_not_crash(tmp_path: Path, metric: DNSMOS) -> None:
    clean = speech()
    item = make_item(tmp_path, 16000, input=clean)
    high = score(metric, item, clean, 16000)
    low = score(metric, item, noisy(clean, 0.0), 16000)
    assert high["DNSMOS_BAK"] > low["DNSMOS_BAK"] + 1.0
    silent = score(metric, item, np.zeros_like(clean), 16000)
    assert all(np.isfinite(v) for v in silent.values()) and len(silent) == 6


def test_dns2020_noisy_and_clean_match_speechmos(shared_data: Path, metric: DNSMOS) -> None:
    root = shared_data / "dns2020-sample" / "no_reverb"
    noisy_paths = sorted((root / "noisy").glob("*.wav"))
    assert len(noisy_paths) == 3
    for noisy_path in noisy_paths:
        clean_path = root / "clean" / f"clean_fileid_{noisy_path.stem.split('_fileid_')[1]}.wav"
        results = {}
        for name, path in (("noisy", noisy_path), ("clean", clean_path)):
            audio, rate = load_audio(path)
            got = score(metric, make_item(Path("/"), rate, input=path), audio, rate)
            _assert_parity(got, speechmos_dnsmos.run(str(path), 16000))
            results[name] = got
        assert results["clean"]["DNSMOS_BAK"] > results["noisy"]["DNSMOS_BAK"]


@pytest.mark.parametrize("personalized", [False, True])
def test_shared_windows_score_exactly_as_the_whole_model_on_each_window(personalized: bool) -> None:
    """The split model (trunk shared by overlapping windows) against the shipped model run on every
    window: a 39 s clip (the script skips 17 of its 30 windows, so the shared spectrogram needs
    filler windows, and its windows span several trunk runs) and a 7 s clip (doubled to 14 s)."""
    paths = model_paths(personalized)
    whole = onnx_session(paths["p835"])
    split = SplitP835(paths["p835"])
    assert split.margin == 4  # four 3x3 convolutions before the first pooling
    for seconds in (39.0, 7.0):
        audio = filled(np.clip(noisy(np.tile(speech(), 20)[:int(seconds * 16000)], 5.0), -1, 1).astype(np.float32))
        bounds = window_bounds(len(audio))
        expected = np.stack([whole.run(None, {"input_1": audio[np.newaxis, start:end]})[0][0] for start, end in bounds])
        got = split.scores(audio, [start for start, _ in bounds])
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_split_parts_are_cut_once_per_machine_and_later_processes_skip_onnx(sebench_home: Path) -> None:
    """Importing onnx to cut the model costs a worker about a second; the parts are kept under
    SEBENCH_HOME, so the next process loads them without importing onnx, with the same scores."""
    import subprocess
    import sys

    audio = filled(np.clip(noisy(np.tile(speech(), 6)[:16000 * 12], 5.0), -1, 1).astype(np.float32))
    starts = [start for start, _ in window_bounds(len(audio))]
    np.save(sebench_home.parent / "audio.npy", audio)
    first = SplitP835(model_paths()["p835"]).scores(audio, starts)
    assert (next((sebench_home / "models").iterdir()) / "layout.json").is_file()
    script = ("import sys, numpy as np\n"
              "from bench.metrics._p835_split import SplitP835\nfrom bench.metrics.dnsmos import model_paths\n"
              f"audio = np.load({str(sebench_home.parent / 'audio.npy')!r})\n"
              f"np.save({str(sebench_home.parent / 'again.npy')!r}, SplitP835(model_paths()['p835']).scores(audio, {starts!r}))\n"
              "print('onnx' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
    np.testing.assert_array_equal(np.load(sebench_home.parent / "again.npy"), first)
