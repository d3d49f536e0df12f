"""Column names across a run's metrics: one name, one meaning.

Two instances of a metric with different configs (``plcmos`` and ``plcmos:seed=1``) would write the
same column names, and the store would keep one set of numbers under a name that no longer says
which model or setting produced them. So every column name must be unique across the run's metrics:
a metric repeated with the same config is refused as a duplicate, one repeated with another config
must carry a ``label``, which suffixes its columns (``plcmos:seed=1,label=seed1`` -> ``PLCMOS@seed1``,
see ``Metric.relabel``).
Metrics whose config selects another model name their columns themselves (``aecmos:rate=48000``
-> ``AECMOS_echo@48k``), so they never clash.
"""

from __future__ import annotations

from typing import Sequence

from bench.errors import ConfigError
from bench.metric import Metric
from bench.spec import Spec


def check_distinct_columns(metrics: Sequence[Metric], specs: Sequence[Spec]) -> None:
    """Refuse a run whose metrics would write one column name twice, saying how to fix it."""
    owner: dict[str, int] = {}
    for index, metric in enumerate(metrics):
        for column in metric.columns:
            first = owner.setdefault(column.name, index)
            if first == index:
                continue
            a, b = specs[first].text(), specs[index].text()
            if metrics[first].version == metric.version:
                raise ConfigError(f"metric '{b}' is listed twice with the same config; list it once")
            raise ConfigError(f"metrics '{a}' and '{b}' would both write column {column.name}; give one a label "
                              f"({b}{',' if ':' in b else ':'}label=NAME names its columns {column.name}@NAME)")
