"""Speaker similarity: parity with resemblyzer, same vs different talker, enrollment, silence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from resemblyzer import VoiceEncoder, preprocess_wav

from _metrics_support import OTHER_SENTENCE, make_item, noisy, score, speech
from bench.audio import resample
from bench.metrics.spksim import SILENCE_SIMILARITY, SpeakerSimilarity, embed_fn


@pytest.fixture(scope="module")
def metric() -> SpeakerSimilarity:
    m = SpeakerSimilarity()
    m.load()
    return m


def test_matches_resemblyzer_called_directly(tmp_path: Path, metric: SpeakerSimilarity) -> None:
    reference = speech(rate=48000)
    output = noisy(reference, 10.0)
    item = make_item(tmp_path, 48000, input=output, reference=reference)
    got = score(metric, item, output, 48000)
    encoder = VoiceEncoder(device="cpu", verbose=False)
    a = encoder.embed_utterance(preprocess_wav(resample(output, 48000, 16000)))
    b = encoder.embed_utterance(preprocess_wav(resample(reference, 48000, 16000)))
    assert got == {"SpkSim": pytest.approx(float(np.dot(a, b)), abs=1e-6)}
    assert "resemblyzer/pretrained.pt@sha256:" in metric.version


def test_target_speaker_extraction_compares_with_enrollment(tmp_path: Path, metric: SpeakerSimilarity) -> None:
    target = speech()
    enrollment = speech(OTHER_SENTENCE, "en-us+m1")
    interferer = speech(OTHER_SENTENCE, "en-us+f2")[: len(target)]
    mixture = target + np.pad(interferer, (0, len(target) - len(interferer)))
    item = make_item(tmp_path, 16000, task="tse", input=mixture, reference=target, enrollment=enrollment)
    right = score(metric, item, target, 16000)
    wrong = score(metric, item, interferer, 16000)
    assert set(right) == {"SpkSim", "SpkSim_enroll"}
    assert right["SpkSim"] > 0.99
    assert right["SpkSim_enroll"] > wrong["SpkSim_enroll"] + 0.1
    assert right["SpkSim"] > wrong["SpkSim"] + 0.1


def test_absent_signals_and_silence(tmp_path: Path, metric: SpeakerSimilarity) -> None:
    clean = speech()
    assert not metric.applies_to(make_item(tmp_path, 16000, input=clean))
    enroll_only = make_item(tmp_path, 16000, task="tse", input=clean, enrollment=clean)
    assert set(score(metric, enroll_only, clean, 16000)) == {"SpkSim_enroll"}
    silent = score(metric, make_item(tmp_path, 16000, input=clean, reference=clean), np.zeros_like(clean), 16000)
    assert silent == {"SpkSim": SILENCE_SIMILARITY} == {"SpkSim": 0.0}


def test_embedding_does_not_depend_on_the_process_thread_count() -> None:
    """Serial runs had torch's default threads and local workers one each: this clip's embedding
    differed by 3e-8 between them. Now both embed on one thread, and the setting is restored."""
    import torch

    audio = np.tile(noisy(speech(), 5.0), 3)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = embed_fn(audio)
        torch.set_num_threads(2)
        threaded = embed_fn(audio)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(single, threaded)
