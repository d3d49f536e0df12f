"""The Item record: one test case, with everything its task needs, as loaders produce it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, Mapping

DENOISE = "denoise"
DEREVERB = "dereverb"
DECLIP = "declip"
PLC = "plc"
TSE = "tse"
AEC = "aec"
SEPARATION = "separation"
TASKS = (DENOISE, DEREVERB, DECLIP, PLC, TSE, AEC, SEPARATION)

FAREND_SINGLE_TALK = "farend_single_talk"
NEAREND_SINGLE_TALK = "nearend_single_talk"
DOUBLE_TALK = "double_talk"
TALK_TYPES = (FAREND_SINGLE_TALK, NEAREND_SINGLE_TALK, DOUBLE_TALK)

TASK_ALIASES = {
    "ns": DENOISE, "noisesuppression": DENOISE, "denoising": DENOISE, "speechenhancement": DENOISE,
    "dereverberation": DEREVERB, "declipping": DECLIP,
    "packetlossconcealment": PLC, "targetspeakerextraction": TSE,
    "echocancellation": AEC, "acousticechocancellation": AEC,
    "speechseparation": SEPARATION, "ss": SEPARATION,
    **{task: task for task in TASKS},
}
"""Spellings data sets and papers use for the tasks, lower-cased without ``_``, ``-`` or spaces."""

TALK_TYPE_ALIASES = {
    # sebench's names and the AEC Challenge's scenario names (file names, meta.csv)
    "farendsingletalk": FAREND_SINGLE_TALK, "nearendsingletalk": NEAREND_SINGLE_TALK, "doubletalk": DOUBLE_TALK,
    # AECMOS's scenario codes
    "st": FAREND_SINGLE_TALK, "fest": FAREND_SINGLE_TALK, "nst": NEAREND_SINGLE_TALK, "nest": NEAREND_SINGLE_TALK,
    "dt": DOUBLE_TALK,
}
"""Official spellings of the talk types, compared as ``TASK_ALIASES`` are; a ``_with_movement``
suffix (AEC Challenge) is dropped first."""

PACKET_SECONDS = 0.02
"""Loss traces hold one 0/1 flag per 20 ms packet (PLC Challenge convention); 1 means lost."""


def task_parts(task: str) -> frozenset[str]:
    """A compound task such as ``denoise+dereverb`` is the set of its parts."""
    parts = frozenset(p for p in task.split("+") if p)
    unknown = parts - set(TASKS)
    if not parts or unknown:
        raise ValueError(f"unknown task {task!r}; known tasks: {', '.join(TASKS)} (combine with '+')")
    return parts


def _spelling(text: str) -> str:
    """The comparison key of a spelling: lower case, without ``_``, ``-`` or white space."""
    return "".join(str(text).lower().replace("-", " ").replace("_", " ").split())


def normalize_task(task: str) -> str:
    """A task as a data set writes it (``AEC``, ``Denoise+Dereverb``, ``noise_suppression``) in
    sebench's own names; unknown parts are left for ``task_parts`` to reject with the list of tasks."""
    parts = [part.strip() for part in str(task).split("+")]
    return "+".join(TASK_ALIASES.get(_spelling(part), part) for part in parts)


def normalize_talk_type(talk_type: str) -> str:
    """An AEC talk type in any official spelling (``doubletalk``, ``farend_singletalk_with_movement``,
    ``Double-Talk``, AECMOS's ``dt``) as one of ``TALK_TYPES``; unknown values are returned as
    written, so ``Item`` rejects them with the list of known ones."""
    text = str(talk_type).strip()
    return TALK_TYPE_ALIASES.get(_spelling(text).removesuffix("withmovement"), text)


def reference_role(index: int) -> str:
    """The role name of the reference of source ``index`` (0-based): ``reference`` for the first,
    ``reference_2``, ``reference_3``... for a separation item's others."""
    return "reference" if index == 0 else f"reference_{index + 1}"


def supports(system_tasks: frozenset[str], item_task: str) -> bool:
    """A system handles an item when it supports every part of the item's task."""
    return task_parts(item_task) <= system_tasks


@dataclass(frozen=True)
class Item:
    """One test case. Paths point at audio files; loaders never decode audio up front.

    ``sample_rate`` is the rate the data set declares; when set, reading a file at another rate is
    an error naming the file. A separation item has one reference per source: ``reference`` is the
    first, ``extra_references`` the others (``references`` gives them all, in source order).
    """

    id: str
    task: str
    subset: str
    input: Path
    reference: Path | None = None
    extra_references: tuple[Path, ...] = ()
    enrollment: Path | None = None
    far_end: Path | None = None
    loss_trace: tuple[int, ...] | None = None
    transcript: str | None = None
    talk_type: str | None = None
    sample_rate: int | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        task_parts(self.task)
        if self.talk_type is not None and self.talk_type not in TALK_TYPES:
            raise ValueError(f"item {self.id}: unknown talk type {self.talk_type!r}; known: {TALK_TYPES}")
        if self.loss_trace is not None and any(flag not in (0, 1) for flag in self.loss_trace):
            raise ValueError(f"item {self.id}: loss trace flags must be 0 or 1")
        if self.extra_references and self.reference is None:
            raise ValueError(f"item {self.id}: extra references without a first reference")
        if self.extra_references and SEPARATION not in task_parts(self.task):
            raise ValueError(f"item {self.id}: several references only make sense for the {SEPARATION} task, "
                             f"not {self.task!r}")

    @property
    def references(self) -> tuple[Path, ...]:
        """Every reference in source order: one for most tasks, one per source for separation."""
        return () if self.reference is None else (self.reference, *self.extra_references)

    @property
    def sources(self) -> int:
        """How many output signals a system returns for this item: one per reference for separation."""
        return max(1, len(self.references)) if SEPARATION in task_parts(self.task) else 1

    def files(self) -> Iterator[tuple[str, Path]]:
        """Every file the item names, as (role, path), in a fixed order: input, references in source
        order (``reference``, ``reference_2``, ...), enrollment, far end; absent ones are skipped.

        The one list of an item's files: what must exist before the item runs (``bench.cache``),
        what travels to a node without the driver's disk (``bench.item_files``), what a ``folder``
        system must never return as an output. A new file field is added here and nowhere else.
        """
        yield "input", self.input
        for index, path in enumerate(self.references):
            yield reference_role(index), path
        for role in ("enrollment", "far_end"):
            if getattr(self, role) is not None:
                yield role, getattr(self, role)

    def with_files(self, paths: Mapping[str, Path]) -> "Item":
        """The item with the files of the given roles (as ``files`` names them) at other paths;
        the roles not given keep theirs."""
        own = dict(self.files())
        unknown = set(paths) - set(own)
        if unknown:
            raise ValueError(f"item {self.id} names no {', '.join(sorted(unknown))} file")
        moved = {role: paths.get(role, path) for role, path in own.items()}
        references = [moved[reference_role(index)] for index in range(len(self.references))]
        return replace(self, input=moved["input"], enrollment=moved.get("enrollment"), far_end=moved.get("far_end"),
                       reference=references[0] if references else None, extra_references=tuple(references[1:]))

    def has(self, need: str) -> bool:
        """Whether the item carries an input a metric or system may require (by field name)."""
        return getattr(self, need) is not None

    def with_(self, **changes: Any) -> "Item":
        return replace(self, **changes)
