"""Reference systems that run offline on CPU: DeepFilterNet3, RNNoise, DSP denoisers, Speex/WebRTC
echo cancellers and packet loss concealment baselines.

Each module imports its third-party library only in ``load()``, so listing systems or running
others never needs the ``baselines`` extra; a missing library raises ``MissingDependencyError``
naming that extra.
"""
