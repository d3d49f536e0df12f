"""Array-level metric functions: arrays in, numbers out, as torchmetrics' ``functional`` module.

Every Metric class in ``bench.metrics`` is a thin wrapper over one of these: it takes the signals
from the output's shared ScoringContext at the rate the function defines, applies the harness's
rules for edge cases (a silent reference leaves a column absent) and keeps models loaded once per
worker. A script or notebook calls them directly::

    from bench.metrics import functional as F

    F.pesq(reference, output)              # 16 kHz, equal length -> {"PESQ_WB": ..., "PESQ_NB": ...}
    F.stoi(reference, output, 16000, extended=True)
    F.dnsmos(output)                       # 16 kHz -> {"SIG": ..., "BAK": ..., "OVRL": ..., "P808": ...}

Model-backed functions (``dnsmos``, ``plcmos``, ``aecmos``, ``speaker_similarity``) load their model
on first use and keep it for the process. ``wer_counts`` compares two texts (edits and lengths, for
corpus-level WER); transcribing the audio needs the ``wer`` metric's ASR backend.
"""

from bench.metrics.aecmos import aecmos_fn as aecmos
from bench.metrics.dnsmos import dnsmos_fn as dnsmos
from bench.metrics.erle import erle_db as erle
from bench.metrics.pesq import pesq_fn as pesq
from bench.metrics.plcmos import plcmos_fn as plcmos
from bench.metrics.sisdr import si_sdr
from bench.metrics.srmr import srmr
from bench.metrics.spksim import embed_fn as speaker_embedding
from bench.metrics.spksim import speaker_similarity_fn as speaker_similarity
from bench.metrics.stoi import stoi
from bench.metrics.wer import error_counts as wer_counts

__all__ = ["aecmos", "dnsmos", "erle", "pesq", "plcmos", "si_sdr", "speaker_embedding", "speaker_similarity", "srmr",
           "stoi", "wer_counts"]
