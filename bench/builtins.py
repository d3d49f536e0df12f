"""Built-in systems, test sets and metrics, as lazy ``module:attribute`` targets.

Modules are imported only when a name is used, so an optional dependency that is not installed
only matters to the commands that need it. Third-party packages add their own through entry points
(see ``bench.registry``) instead of editing this table.
"""

BUILTIN_SYSTEMS: dict[str, str] = {
    "unprocessed": "systems.sanity:Unprocessed",
    "oracle": "systems.sanity:Oracle",
    "silence": "systems.sanity:Silence",
    "folder": "systems.folder:FolderSystem",
    "deepfilternet3": "systems.baselines.deepfilternet:DeepFilterNet3",
    "rnnoise": "systems.baselines.rnnoise:RNNoise",
    "noisereduce": "systems.baselines.noisereduce_ns:NoiseReduce",
    "speex-ns": "systems.baselines.speex_ns:SpeexNS",
    "nsnet2": "systems.baselines.nsnet2:NSNet2",
    "nsnet2-48k": "systems.baselines.nsnet2:NSNet2Fullband",
    "dtln": "systems.baselines.dtln:DTLN",
    "logmmse": "systems.baselines.logmmse:LogMMSE",
    "wpe": "systems.baselines.wpe:WPE",
    "speex-aec": "systems.baselines.speex_aec:SpeexAEC",
    "webrtc-aec": "systems.baselines.webrtc_aec:WebRTCAEC",
    "plc-zero": "systems.baselines.plc:ZeroFill",
    "plc-repeat": "systems.baselines.plc:RepeatLast",
    "opus-plc": "systems.baselines.opus_plc:OpusPLC",
    "llase": "systems.llase.adapter:LLaSE",
    "llase-g1": "systems.llase.adapter:LLaSEG1",
    "seflow": "systems.seflow.adapter:SEFlow",
}

BUILTIN_TESTSETS: dict[str, str] = {
    "synthetic": "testsets.synthetic:SyntheticSuite",
    "dns": "testsets.dns:DNSChallenge",
    "libri2mix": "testsets.libri2mix:Libri2Mix",
    "wsj0-2mix": "testsets.wsj0_2mix:WSJ0Mix",
    "aec-challenge": "testsets.aec_challenge:AECChallenge",
    "plc-challenge": "testsets.plc_challenge:PLCChallenge",
    "manifest": "testsets.manifest:Manifest",
    "pairs": "testsets.pairs:PairsFolder",
}

BUILTIN_METRICS: dict[str, str] = {
    "dnsmos": "bench.metrics.dnsmos:DNSMOS",
    "pesq": "bench.metrics.pesq:PESQ",
    "stoi": "bench.metrics.stoi:STOI",
    "sisdr": "bench.metrics.sisdr:SISDR",
    "wer": "bench.metrics.wer:WER",
    "spksim": "bench.metrics.spksim:SpeakerSimilarity",
    "plcmos": "bench.metrics.plcmos:PLCMOS",
    "aecmos": "bench.metrics.aecmos:AECMOS",
    "erle": "bench.metrics.erle:ERLE",
    "srmr": "bench.metrics.srmr:SRMR",
}
