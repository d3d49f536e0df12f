"""Training material built offline: eSpeak NG speech, babble, and pyroomacoustics rooms.

The speech reads random sentences composed from the word list below, never the Harvard sentences
the synthetic suite scores, so training and test share talkers (eSpeak voices) but not utterances.
Everything is cached in memory as pools; degradations are drawn from them per example
(``degrade.py``).
"""

from __future__ import annotations

import numpy as np

from bench.audio import resample
from testsets.synthetic.speech import NATIVE_RATE, VOICES, speak

WORDS = (
    "apple window river mountain table garden morning evening yellow purple silver basket market "
    "teacher doctor engine rocket planet ocean forest desert island bridge tower castle kitchen "
    "pencil paper letter number minute hour winter summer autumn spring animal rabbit tiger "
    "horse chicken coffee butter bread cheese orange lemon pepper salt sugar water fire stone "
    "metal glass cotton wool silk leather wood iron copper golden quiet loud gentle rapid slow "
    "bright dark heavy light narrow broad ancient modern simple clever lucky happy angry tired "
    "walks runs jumps builds carries finds opens closes paints writes reads sings plays brings "
    "throws catches follows watches hears sees wants likes needs keeps sends takes makes gives "
    "under over behind beside across through between after before during without toward "
    "the a this that every some many few several our their his her my your one two three four "
    "seven twelve twenty hundred thousand always never often sometimes quickly slowly softly "
    "yesterday today tomorrow tonight early late again already almost certainly perhaps"
).split()


def random_sentence(rng: np.random.Generator) -> str:
    words = rng.choice(WORDS, size=int(rng.integers(5, 12)))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def speech_pool(count: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """``count`` (voice, waveform at NATIVE_RATE) utterances of random sentences."""
    rng = np.random.default_rng(seed)
    pool = []
    for i in range(count):
        voice = VOICES[i % len(VOICES)]
        pool.append((voice, speak(random_sentence(rng), voice, NATIVE_RATE)))
    return pool


def babble_pool(count: int, seconds: float, seed: int, pool: list[tuple[str, np.ndarray]],
                rate: int = NATIVE_RATE) -> list[np.ndarray]:
    """Babble from the training speech pool (at ``rate``): 4-6 overlapping talkers, unit RMS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = []
    for _ in range(count):
        mix = np.zeros(n, dtype=np.float32)
        for _ in range(int(rng.integers(4, 7))):
            x = pool[int(rng.integers(len(pool)))][1]
            x = np.tile(x, int(np.ceil(n / len(x))) + 1)
            start = int(rng.integers(len(x) - n))
            mix += x[start : start + n] / (np.sqrt(np.mean(x**2)) + 1e-9)
        out.append(mix / (np.sqrt(np.mean(mix**2)) + 1e-9))
    return out


def rir_pool(count: int, seed: int, rate: int = 16000) -> list[np.ndarray]:
    """Shoebox rooms (RT60 0.2-0.9 s), cropped so the direct path sits at sample 0 with gain 1.

    Cropping keeps the reverberant input aligned with the dry target, so dereverberation is learned
    without a delay the causal model could not produce. pyroomacoustics draws its randomised image
    positions from its own package-wide generator, so that is seeded here too: without it the pool,
    and so a resumed run's data, differed from run to run."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    pra.random.seed(numpy=seed, libroom=seed)
    rirs = []
    while len(rirs) < count:
        dims = rng.uniform([3.0, 3.0, 2.4], [9.0, 8.0, 3.5])
        rt60 = rng.uniform(0.2, 0.9)
        try:
            absorption, max_order = pra.inverse_sabine(rt60, dims)
        except ValueError:
            continue
        room = pra.ShoeBox(dims, fs=rate, materials=pra.Material(absorption), max_order=min(max_order, 20),
                           use_rand_ism=True, max_rand_disp=0.05)
        src = rng.uniform([0.5, 0.5, 1.2], dims - [0.5, 0.5, 0.8])
        mic = rng.uniform([0.5, 0.5, 1.0], dims - [0.5, 0.5, 1.0])
        room.add_source(src)
        room.add_microphone(mic)
        room.compute_rir()
        h = np.asarray(room.rir[0][0], dtype=np.float64)
        peak = int(np.argmax(np.abs(h)))
        h = h[max(peak - 1, 0) : peak + int(rate * 0.8)]
        rirs.append((h / np.abs(h).max()).astype(np.float32))
    return rirs


def at_rate(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    return resample(x, rate_in, rate_out)
