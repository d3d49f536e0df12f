"""eSpeak NG speech and the noise generators: determinism and the spectral shapes they promise."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from testsets.synthetic.noise import NOISES, NON_STATIONARY, STATIONARY, make_noise
from testsets.synthetic.speech import VOICES, speak

SENTENCE = "The birch canoe slid on the smooth planks."


def _digest(audio: np.ndarray) -> str:
    return hashlib.sha256(audio.tobytes()).hexdigest()


def test_speak_is_bit_identical_whatever_was_spoken_before() -> None:
    first = speak(SENTENCE, "en-us+m1")
    for voice in VOICES:  # eSpeak keeps global synthesis state; each call must start from scratch
        speak("Glue the sheet to the dark blue background.", voice)
    again = speak(SENTENCE, "en-us+m1")
    assert first.dtype == np.float32 and first.ndim == 1
    assert _digest(first) == _digest(again)


def test_voices_are_distinct_and_speech_has_the_expected_duration() -> None:
    clips = {voice: speak(SENTENCE, voice, sample_rate=16000) for voice in VOICES}
    assert len({_digest(c) for c in clips.values()}) == len(VOICES)
    for voice, clip in clips.items():
        assert 1.8 < len(clip) / 16000 < 4.0, voice  # 8 words at 160 words per minute
        assert 0.1 < float(np.max(np.abs(clip))) < 1.0, voice


def test_speak_rate_changes_length_proportionally() -> None:
    at16 = speak(SENTENCE, "en+f3", sample_rate=16000)
    at48 = speak(SENTENCE, "en+f3", sample_rate=48000)
    assert abs(len(at48) - 3 * len(at16)) <= 3


def test_speak_rejects_unknown_voice_and_empty_text() -> None:
    with pytest.raises(ValueError, match="no voice 'xx-nonexistent'"):
        speak(SENTENCE, "xx-nonexistent")
    with pytest.raises(ValueError, match="empty text"):
        speak("  ", VOICES[0])


@pytest.mark.parametrize("kind", sorted(NOISES))
def test_noise_is_unit_rms_and_seeded(kind: str) -> None:
    a = make_noise(kind, np.random.default_rng(3), 32000, 16000)
    b = make_noise(kind, np.random.default_rng(3), 32000, 16000)
    c = make_noise(kind, np.random.default_rng(4), 32000, 16000)
    assert a.dtype == np.float32 and a.shape == (32000,)
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def _octave_slope_db(x: np.ndarray, rate: int) -> float:
    """Average power change per octave between 100 Hz and 6.4 kHz, from a Welch spectrum."""
    from scipy.signal import welch

    freqs, power = welch(x, fs=rate, nperseg=4096)
    band = (freqs >= 100) & (freqs <= 6400)
    slope = np.polyfit(np.log2(freqs[band]), 10 * np.log10(power[band]), 1)[0]
    return float(slope)


@pytest.mark.parametrize(("kind", "slope"), [("white", 0.0), ("pink", -3.01), ("brown", -6.02)])
def test_coloured_noise_has_its_spectral_slope(kind: str, slope: float) -> None:
    x = make_noise(kind, np.random.default_rng(0), 16000 * 8, 16000)
    assert _octave_slope_db(x, 16000) == pytest.approx(slope, abs=0.3)


def test_hum_sits_on_mains_frequency() -> None:
    x = make_noise("hum", np.random.default_rng(1), 16000 * 2, 16000)
    spectrum = np.abs(np.fft.rfft(x))
    peak_hz = np.argmax(spectrum) * 16000 / len(x)
    assert peak_hz in (50.0, 60.0)


def test_non_stationary_noise_varies_in_level_and_stationary_does_not() -> None:
    from scipy.signal import butter, sosfilt

    # Above 200 Hz, so brown noise's few low-frequency cycles per frame do not read as level change.
    highpass = butter(4, 200, "highpass", fs=16000, output="sos")

    def frame_level_spread_db(x: np.ndarray) -> float:
        y = sosfilt(highpass, x.astype(np.float64))
        frames = y[: len(y) // 1600 * 1600].reshape(-1, 1600)
        levels = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
        return float(np.percentile(levels, 95) - np.percentile(levels, 5))

    rng = np.random.default_rng(5)
    for kind in STATIONARY:
        assert frame_level_spread_db(make_noise(kind, rng, 16000 * 4, 16000)) < 3.0, kind
    for kind in NON_STATIONARY:
        assert frame_level_spread_db(make_noise(kind, rng, 16000 * 4, 16000)) > 5.0, kind


def test_unknown_noise_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown noise kind 'traffic'; known: white, pink"):
        make_noise("traffic", np.random.default_rng(0), 100, 16000)
