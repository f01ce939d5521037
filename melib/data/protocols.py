"""Class protocols (label mapping tables) and leave-one-subject-out folds (datasets.md, "Evaluation").

Each protocol maps a dataset's lower-cased emotion to a class name; samples whose emotion is not in
the table are left out (e.g. CASME II sadness/fear in the 5-class protocol).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEG, POS, SUR = "negative", "positive", "surprise"
# protocol name -> (datasets it applies to, class order, emotion -> class)
PROTOCOLS: dict[str, tuple[tuple[str, ...], list[str], dict[str, str]]] = {
    "casme2-5class": (("casme2",), ["happiness", "repression", "disgust", "surprise", "others"],
                      {e: e for e in ["happiness", "repression", "disgust", "surprise", "others"]}),
    "megc2019-3class": (("casme2", "samm"), [NEG, POS, SUR], {  # per dataset: see MEGC2019_TABLES
        "disgust": NEG, "repression": NEG, "anger": NEG, "contempt": NEG, "fear": NEG, "sadness": NEG,
        "happiness": POS, "surprise": SUR}),
    "samm-5class": (("samm",), ["anger", "happiness", "contempt", "surprise", "other"],
                    {e: e for e in ["anger", "happiness", "contempt", "surprise", "other"]}),
    "casme3-4class": (("casme3",), [NEG, POS, SUR, "others"], {
        "anger": NEG, "disgust": NEG, "fear": NEG, "sad": NEG, "happy": POS, "surprise": SUR, "others": "others"}),
    "casme3-3class": (("casme3",), [NEG, POS, SUR], {
        "anger": NEG, "disgust": NEG, "fear": NEG, "sad": NEG, "happy": POS, "surprise": SUR}),
    "samm_lv-4class": (("samm_lv",), [NEG, POS, SUR, "others"], {
        "anger": NEG, "contempt": NEG, "disgust": NEG, "fear": NEG, "sadness": NEG, "happiness": POS,
        "surprise": SUR, "other": "others"}),
    "samm_lv-3class": (("samm_lv",), [NEG, POS, SUR], {
        "anger": NEG, "contempt": NEG, "disgust": NEG, "fear": NEG, "sadness": NEG, "happiness": POS,
        "surprise": SUR}),
}
# MEGC2019: CASME II negative = disgust + repression only; SAMM negative = anger, contempt, disgust,
# fear, sadness (datasets.md).
MEGC2019_TABLES = {
    "casme2": {"disgust": NEG, "repression": NEG, "happiness": POS, "surprise": SUR},
    "samm": {"anger": NEG, "contempt": NEG, "disgust": NEG, "fear": NEG, "sadness": NEG, "happiness": POS,
             "surprise": SUR},
}
# The official MEGC2019 composite list leaves out two CASME II clips (datasets.md).
MEGC2019_EXCLUDE = {("casme2", "sub04", "EP12_01f"), ("casme2", "sub05", "EP09_05f")}


@dataclass
class Protocol:
    name: str
    classes: list[str]
    samples: list  # Clip or Event
    labels: np.ndarray  # (N,) int, index into classes
    subjects: np.ndarray  # (N,) str; composite protocols prefix the dataset ("casme2/sub01")

    def counts(self) -> dict[str, int]:
        return {c: int((self.labels == i).sum()) for i, c in enumerate(self.classes)}


def _items(dataset):
    if hasattr(dataset, "samples"):
        return [(s, s.subject, s.clip) for s in dataset.samples]
    return [(e, v.subject, e.name or v.name) for v in dataset.videos for e in v.mes]


def protocol(dataset, name: str) -> Protocol:
    """Samples, integer labels and subjects of one protocol; ``dataset`` may be a list (composite)."""
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; known: {sorted(PROTOCOLS)}")
    allowed, classes, table = PROTOCOLS[name]
    datasets = dataset if isinstance(dataset, (list, tuple)) else [dataset]
    samples, labels, subjects = [], [], []
    for ds in datasets:
        if ds.name not in allowed:
            raise ValueError(f"protocol {name!r} applies to {allowed}, not to dataset {ds.name!r}")
        items = _items(ds)
        mapping = MEGC2019_TABLES[ds.name] if name == "megc2019-3class" else table
        if ds.name == "samm_lv" and items and all(s.emotion == "" for s, _, _ in items):
            raise ValueError(f"{ds.root}: SAMM-LV MEs have no emotions (no SAMM FACS-codes file found next to it); "
                             f"protocol {name!r} needs them")
        for sample, subject, clip in items:
            if name.startswith("megc2019") and (ds.name, subject, clip) in MEGC2019_EXCLUDE:
                continue
            if sample.emotion in mapping:
                samples.append(sample)
                labels.append(classes.index(mapping[sample.emotion]))
                subjects.append(f"{ds.name}/{subject}" if len(datasets) > 1 else subject)
    return Protocol(name, classes, samples, np.array(labels, dtype=np.int64), np.array(subjects, dtype=str))


@dataclass
class Fold:
    name: str  # the held-out subject
    train_idx: np.ndarray
    test_idx: np.ndarray


def loso_folds(subjects) -> list[Fold]:
    """One fold per subject (sorted): that subject's samples are the test set, all others train."""
    subjects = np.asarray(subjects, dtype=str)
    folds = []
    for s in sorted(set(subjects.tolist())):
        test = np.flatnonzero(subjects == s)
        folds.append(Fold(s, np.flatnonzero(subjects != s), test))
    return folds
