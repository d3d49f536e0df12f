"""One recipe per subset: how a test case is made from speech, noise, rooms and degradations.

Each recipe takes its own random generator (seeded per subset and item index by the builder), so
items never depend on one another and changing the size of the suite does not change the items
that were already there. Level conventions: ratios (SNR, SIR, SER) are energy ratios over the
whole clip; speech is set to an RMS level near -25 dBFS (the DNS Challenge's nominal level) and
every file of an item is scaled by one common factor if needed to stay below full scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.signal import fftconvolve

from bench.item import DECLIP, DENOISE, DOUBLE_TALK, FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, PACKET_SECONDS, PLC, TSE, AEC
from testsets.synthetic.noise import NOISES, make_noise
from testsets.synthetic.rooms import random_room
from testsets.synthetic.sentences import TALK
from testsets.synthetic.signals import (
    energy_ratio_db,
    gilbert_elliott,
    peak_guard,
    place,
    reverberate,
    scale_to,
    set_level,
    soft_saturation,
)
from testsets.synthetic.speech import VOICES, speak

SNR_RANGE_DB = (-5.0, 15.0)
SPEECH_LEVEL_DBFS = -25.0
LEVEL_SPREAD_DB = 5.0
REVERB_RT60_RANGE_S = (0.2, 0.8)
REVERB_DISTANCE_RANGE_M = (0.5, 3.0)
CLIP_RATIO_RANGE = (0.1, 0.5)
CLIP_PEAK = 0.9
LOSS_RATE_RANGE = (0.03, 0.20)
MEAN_BURST_RANGE_PACKETS = (1.0, 3.0)
SIR_RANGE_DB = (-5.0, 5.0)
SER_RANGE_DB = (-10.0, 10.0)
ECHO_RT60_RANGE_S = (0.2, 0.6)
ECHO_DISTANCE_RANGE_M = (0.3, 1.0)
ECHO_DELAY_RANGE_S = (0.01, 0.06)
DRIVE_RANGE = (0.5, 1.5)
MIC_NOISE_RANGE_DB = (30.0, 40.0)
AEC_FAR_SENTENCES = 3
AEC_TALK_PATTERN = (FAREND_SINGLE_TALK, DOUBLE_TALK, FAREND_SINGLE_TALK, DOUBLE_TALK, NEAREND_SINGLE_TALK)
"""Far-end single talk and double talk dominate, as in the AEC Challenge's scoring; every fifth item
is near-end single talk, which checks that a canceller leaves speech alone when there is no echo."""


@dataclass
class Case:
    """A built test case before it is written: waveforms by Item field name, plus the labels."""

    task: str
    signals: dict[str, np.ndarray]
    transcript: str | None = None
    talk_type: str | None = None
    loss_trace: tuple[int, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray
    sentence: int
    voice: str


def _utterance(rng: np.random.Generator, sample_rate: int, *, voice: str | None = None,
               avoid_sentences: tuple[int, ...] = (), avoid_voices: tuple[str, ...] = ()) -> Utterance:
    """A Harvard sentence read by an eSpeak voice at a level near -25 dBFS."""
    sentences = [i for i in range(len(TALK)) if i not in avoid_sentences]
    sentence = sentences[int(rng.integers(len(sentences)))]
    if voice is None:
        voices = [v for v in VOICES if v not in avoid_voices]
        voice = voices[int(rng.integers(len(voices)))]
    level = SPEECH_LEVEL_DBFS + rng.uniform(-LEVEL_SPREAD_DB, LEVEL_SPREAD_DB)
    return Utterance(set_level(speak(TALK[sentence], voice, sample_rate).astype(np.float64), level), sentence, voice)


def _padded(rng: np.random.Generator, speech: np.ndarray, sample_rate: int) -> np.ndarray:
    """Speech with 0.2-0.5 s of silence before and 0.3 s after, like a recorded utterance."""
    lead = int(rng.uniform(0.2, 0.5) * sample_rate)
    return place(speech, lead, lead + len(speech) + int(0.3 * sample_rate))


def _speech_meta(u: Utterance) -> dict[str, Any]:
    return {"voice": u.voice, "sentence": u.sentence}


def no_reverb(rng: np.random.Generator, index: int, sample_rate: int) -> Case:
    """Dry speech plus noise; the noise kind cycles through every generator so each is covered."""
    u = _utterance(rng, sample_rate)
    clean = _padded(rng, u.audio, sample_rate)
    kind = list(NOISES)[index % len(NOISES)]
    snr = float(rng.uniform(*SNR_RANGE_DB))
    noise = scale_to(clean, make_noise(kind, rng, len(clean), sample_rate).astype(np.float64), snr)
    noisy, clean = peak_guard(clean + noise, clean)
    return Case(DENOISE, {"input": noisy, "reference": clean}, transcript=TALK[u.sentence],
                meta={**_speech_meta(u), "noise": kind, "snr_db": snr})


def with_reverb(rng: np.random.Generator, index: int, sample_rate: int) -> Case:
    """Reverberant noisy speech scored against the *dry* speech, time-aligned with the direct path.

    The DNS 2020 with_reverb set uses the reverberant clean speech as reference, so a system that
    removes reverberation is penalised for it. Here the reference is the dry source: the RIR is normalised to a unit direct path and the reverberant
    signal is shifted so the direct sound lines up sample-exactly with the reference, which makes
    intrusive metrics (SI-SDR, STOI) measure reverberation rather than a propagation delay. The SNR
    is relative to the reverberant speech, i.e. the speech energy actually at the microphone.

    The task is ``denoise`` (with ``reverberant`` in meta), as in the DNS loader's with_reverb
    subset, so every denoiser gets a row here as in the published DNS tables; a system that also
    dereverberates is rewarded for it by the dry reference.
    """
    u = _utterance(rng, sample_rate)
    dry = _padded(rng, u.audio, sample_rate)
    room = random_room(rng, sample_rate, REVERB_RT60_RANGE_S, REVERB_DISTANCE_RANGE_M)
    wet = reverberate(dry, room.rir / room.rir[room.direct_index], room.direct_index)
    kind = list(NOISES)[index % len(NOISES)]
    snr = float(rng.uniform(*SNR_RANGE_DB))
    noise = scale_to(wet, make_noise(kind, rng, len(wet), sample_rate).astype(np.float64), snr)
    noisy, dry = peak_guard(wet + noise, dry)
    return Case(DENOISE, {"input": noisy, "reference": dry}, transcript=TALK[u.sentence],
                meta={**_speech_meta(u), "noise": kind, "snr_db": snr, "reverberant": True, "rt60_s": room.rt60_target,
                      "rt60_measured_s": room.rt60_measured, "room_m": list(room.dims),
                      "distance_m": room.distance})


def declip(rng: np.random.Generator, index: int, sample_rate: int) -> Case:
    """Speech peaking at 0.9 hard-clipped at a fraction (0.1-0.5) of that peak.

    The threshold is stored as a float32 value, the exact magnitude of every clipped sample in the
    float WAV, so a declipper (or a test) can locate clipped samples by equality.
    """
    u = _utterance(rng, sample_rate)
    clean = _padded(rng, u.audio, sample_rate)
    clean = clean * (CLIP_PEAK / np.max(np.abs(clean)))
    ratio = float(rng.uniform(*CLIP_RATIO_RANGE))
    level = np.float32(CLIP_PEAK * ratio)
    clean32 = clean.astype(np.float32)
    clipped = np.clip(clean32, -level, level)
    return Case(DECLIP, {"input": clipped, "reference": clean32}, transcript=TALK[u.sentence],
                meta={**_speech_meta(u), "clip_level": float(level), "clip_ratio": ratio,
                      "clipped_fraction": float(np.mean(np.abs(clean32) > level)),
                      "input_sdr_db": energy_ratio_db(clean32, clean32 - clipped)})


def plc(rng: np.random.Generator, index: int, sample_rate: int) -> Case:
    """Speech with bursty packet loss: one flag per 20 ms packet, lost packets zeroed in the input.

    The clip is a whole number of packets so flag ``i`` covers samples [i*P, (i+1)*P) exactly, the
    PLC Challenge's ``is_lost`` convention. At least one packet is lost and at least one received.
    """
    u = _utterance(rng, sample_rate)
    packet = int(round(PACKET_SECONDS * sample_rate))
    clean = _padded(rng, u.audio, sample_rate)
    packets = -(-len(clean) // packet)
    clean = place(clean, 0, packets * packet)
    target = float(rng.uniform(*LOSS_RATE_RANGE))
    mean_burst = float(rng.uniform(*MEAN_BURST_RANGE_PACKETS))
    flags = gilbert_elliott(rng, packets, target, mean_burst)
    if flags.sum() == 0:
        flags[int(rng.integers(packets))] = 1
    if flags.sum() == packets:
        flags[int(rng.integers(packets))] = 0
    lossy = clean * np.repeat(1 - flags, packet)
    return Case(PLC, {"input": lossy, "reference": clean}, transcript=TALK[u.sentence],
                loss_trace=tuple(int(f) for f in flags),
                meta={**_speech_meta(u), "loss_rate": float(flags.mean()), "loss_rate_target": target,
                      "mean_burst_packets": mean_burst})


def tse(rng: np.random.Generator, index: int, sample_rate: int) -> Case:
    """Two talkers with different voices; extract the one the enrollment utterance names.

    The enrollment is the target voice reading a third sentence, different from both sentences in
    the mixture, so a system cannot match on content. The interferer starts 0-1 s after the target,
    so overlap varies from partial to nearly full.
    """
    target = _utterance(rng, sample_rate)
    other = _utterance(rng, sample_rate, avoid_sentences=(target.sentence,), avoid_voices=(target.voice,))
    enrol = _utterance(rng, sample_rate, voice=target.voice, avoid_sentences=(target.sentence, other.sentence))
    sir = float(rng.uniform(*SIR_RANGE_DB))
    start_t = int(rng.uniform(0.1, 0.3) * sample_rate)
    start_o = start_t + int(rng.uniform(0.0, 1.0) * sample_rate)
    length = max(start_t + len(target.audio), start_o + len(other.audio)) + int(0.3 * sample_rate)
    reference = place(target.audio, start_t, length)
    interferer = scale_to(target.audio, other.audio, sir)
    mixture, reference = peak_guard(reference + place(interferer, start_o, length), reference)
    (enrollment,) = peak_guard(_padded(rng, enrol.audio, sample_rate))
    overlap = max(0, min(start_t + len(target.audio), start_o + len(other.audio)) - start_o)
    return Case(TSE, {"input": mixture, "reference": reference, "enrollment": enrollment},
                transcript=TALK[target.sentence],
                meta={**_speech_meta(target), "interferer_voice": other.voice, "interferer_sentence": other.sentence,
                      "enrollment_voice": enrol.voice, "enrollment_sentence": enrol.sentence, "sir_db": sir,
                      "overlap_s": overlap / sample_rate})


def _far_end_talk(rng: np.random.Generator, sample_rate: int) -> Utterance:
    """``AEC_FAR_SENTENCES`` sentences of one far-end voice with short pauses (about 8-10 s).

    AEC Challenge clips run about 10 s, and adaptive cancellers converge over seconds: on 3-4 s
    clips a canceller is scored mostly on its start-up transient.
    """
    first = _utterance(rng, sample_rate)
    parts, used = [first.audio], [first.sentence]
    for _ in range(AEC_FAR_SENTENCES - 1):
        gap = np.zeros(int(rng.uniform(0.2, 0.5) * sample_rate))
        nxt = _utterance(rng, sample_rate, voice=first.voice, avoid_sentences=tuple(used))
        parts += [gap, nxt.audio]
        used.append(nxt.sentence)
    return Utterance(np.concatenate(parts), first.sentence, first.voice)


def aec(rng: np.random.Generator, index: int, sample_rate: int) -> Case:
    """Far-end speech played through a loudspeaker (mild saturation), a room and a system delay
    into the microphone, with or without near-end speech, plus a faint microphone noise floor.

    The far-end file is the loudspeaker feed before the nonlinearity (what a canceller gets as its
    loopback). Far-end single talk has no reference: the ideal output is silence and ERLE/AECMOS
    score it. Double talk and near-end single talk keep the clean near-end speech as reference. In
    near-end single talk the far-end feed is digital silence, as when the remote side is muted.
    """
    talk = AEC_TALK_PATTERN[index % len(AEC_TALK_PATTERN)]
    far = _far_end_talk(rng, sample_rate)
    near = _utterance(rng, sample_rate, avoid_sentences=(far.sentence,), avoid_voices=(far.voice,))
    room = random_room(rng, sample_rate, ECHO_RT60_RANGE_S, ECHO_DISTANCE_RANGE_M)
    delay = int(rng.uniform(*ECHO_DELAY_RANGE_S) * sample_rate)
    drive = float(rng.uniform(*DRIVE_RANGE))
    ser = float(rng.uniform(*SER_RANGE_DB))
    noise_db = float(rng.uniform(*MIC_NOISE_RANGE_DB))
    start_far = int(0.1 * sample_rate)
    start_near = start_far + int(rng.uniform(2.0, 4.0) * sample_rate)
    length = max(start_far + len(far.audio), start_near + len(near.audio)) + int(0.3 * sample_rate)
    far_end = place(far.audio, start_far, length)
    echo = place(fftconvolve(soft_saturation(far_end, drive), room.rir)[:length], delay, length)
    near_end = place(near.audio, start_near, length)
    pink = make_noise("pink", rng, length, sample_rate).astype(np.float64)
    echo_meta = {"far_voice": far.voice, "far_sentence": far.sentence, "echo_rt60_s": room.rt60_target,
                 "echo_delay_ms": 1000.0 * delay / sample_rate, "drive": drive}
    if talk == FAREND_SINGLE_TALK:
        echo = set_level(echo, SPEECH_LEVEL_DBFS)
        (mic,) = peak_guard(echo + scale_to(echo, pink, noise_db))
        return Case(AEC, {"input": mic, "far_end": far_end}, talk_type=talk,
                    meta={**echo_meta, "noise_snr_db": noise_db})
    if talk == DOUBLE_TALK:
        mixture = near_end + scale_to(near_end, echo, ser)
        meta = {**echo_meta, "ser_db": ser}
    else:  # near-end single talk: the far end is muted, so there is no echo
        mixture, far_end, meta = near_end, np.zeros(length), {}
    mic, near_end = peak_guard(mixture + scale_to(near_end, pink, noise_db), near_end)
    return Case(AEC, {"input": mic, "reference": near_end, "far_end": far_end}, transcript=TALK[near.sentence],
                talk_type=talk, meta={**meta, **_speech_meta(near), "noise_snr_db": noise_db})


Recipe = Callable[[np.random.Generator, int, int], Case]

RECIPES: dict[str, Recipe] = {
    "no_reverb": no_reverb,
    "with_reverb": with_reverb,
    "declip": declip,
    "plc": plc,
    "tse": tse,
    "aec": aec,
}
"""Subset name -> recipe, in build order. The position is part of each item's seed: append new
subsets at the end so existing ones keep their content."""
