"""SynthME: generate the four datasets (CASME II, SAMM, CAS(ME)^3 Part A, SAMM-LV layouts) from a seed.

Parameters (``cfg.synth``, melib.params.PROFILES["synth"]):
    parts            which datasets to write ("casme2", "samm", "casme3", "samm_lv")
    clip_size        short-clip frame side (px); the face (jaw width) spans ``clip_face`` of it
    clip_frames      [lo, hi] short-clip length in frames at 200 fps (<= 100 = 0.5 s)
    casme2_subjects, casme2_clips    CASME II subjects and clips per subject
    samm_subjects, samm_clips        SAMM subjects and clips per subject (incl. SAMM-LV's MEs)
    casme3_subjects, casme3_videos, casme3_frames, casme3_mes   CAS(ME)^3: subjects, videos each,
                     frames per video (30 fps), MEs per video
    samm_lv_subjects, samm_lv_frames, samm_lv_mes   SAMM-LV (200 fps; subjects are the first SAMM ones),
                     frames per video, MEs per video
    samm_lv_videos   SAMM-LV long videos per subject (default 1; real SAMM-LV: ~4.6 per subject, ~1.1 MEs each)
    noise_fields     Gaussian noise fields per long video (default 4); x 4 flips = distinct noise frames
    data_seed        if set, the seed of the data whatever the run's SEED (melib.data.prepare)
    mirror_faces     share of subjects built on the mirrored portrait (default 0; face.py)
    video_size       [W, H] of long videos; ``video_face`` = jaw width / W
    me_seconds, macro_seconds, head_seconds   [lo, hi] durations (s) of MEs (<= 0.5), macros, head moves
    amplitude        [lo, hi] ME peak displacement in short clips (px, in the frame's own pixels)
    video_amplitude  [lo, hi] ME peak displacement in long videos (px)
    macro_amplitude  [lo, hi] macro-expression peak displacement (px)
    noise            sensor noise sigma (grey levels); ``drift`` max head drift in a short clip (px)
    jpeg_quality     JPEG quality of every frame

Design: subjects are identities of the astronaut face (face.py); each event is an emotion drawn
so that every subject shows every class of the dataset's protocols, an AU combination for it
(aus.py), an amplitude drawn from ``amplitude`` and a raised-cosine time course. Long videos add
distractors: one macro-expression (longer, larger), two blinks (AU45) and one head move.
SAMM's clips include every SAMM-LV ME under the same Filename (that is how real SAMM-LV gets
its emotions); SAMM frame numbers are absolute (video start + index), SAMM-LV's are per video.
Quirks written on purpose: CASME II blank columns, SAMM preamble rows and text subjects, CAS(ME)^3
text numbers, ``Others`` once, dropped frames; the loaders must cope with them.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import cv2
import numpy as np

from melib.data.synth import writers
from melib.data.synth.aus import EMOTION_AUS
from melib.data.synth.face import make_identity, render_identity
from melib.data.synth.render import render_clip, render_video

CASME2_MAIN, CASME2_EXTRA = ["happiness", "disgust", "repression", "surprise", "others"], ["sadness", "fear"]
SAMM_MAIN, SAMM_EXTRA = ["anger", "happiness", "contempt", "surprise", "other"], ["disgust", "fear", "sadness"]
CASME3_MAIN, CASME3_EXTRA = ["disgust", "happy", "surprise", "others"], ["anger", "fear", "sad"]
LV_CYCLE = ["anger", "happiness", "surprise", "other", "contempt", "happiness", "surprise", "disgust"]
FPS = {"casme2": 200, "samm": 200, "casme3": 30, "samm_lv": 200}


def _emotions(main, extra, n, rng, p_extra=0.25):
    """n labels: every main class once (shuffled) first, then random main or extra ones."""
    out = list(rng.permutation(main))[:n]
    while len(out) < n:
        pool = extra if extra and rng.random() < p_extra else main
        out.append(str(rng.choice(pool)))
    return [str(e) for e in out]


def _aus(emotion, rng) -> str:
    return str(rng.choice(EMOTION_AUS[emotion]))


def _imwrite(path: Path, img: np.ndarray, quality: int) -> None:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)]):
        raise OSError(f"could not write frame {path}")


class Generator:
    def __init__(self, out: Path, p: dict, seed: int):
        self.out, self.p, self.seed = Path(out), p, seed
        self.rng = np.random.default_rng(seed)
        self.identities = {}

    def identity(self, key):  # one identity per (dataset, subject), fixed by seed
        if key not in self.identities:
            sub_rng = np.random.default_rng([self.seed, zlib.crc32(repr(key).encode())])
            self.identities[key] = make_identity(sub_rng, float(self.p.get("mirror_faces", 0.0)))
        return self.identities[key]

    def clip_face(self, key, gray=False):
        s = int(self.p["clip_size"])
        return render_identity(self.identity(key), (s, s), self.p.get("clip_face", 0.72) * s, (0.5, 0.55), gray)

    def video_face(self, key, gray=False):
        w, h = self.p["video_size"]
        return render_identity(self.identity(key), (h, w), self.p["video_face"] * w, (0.5, 0.45), gray)

    def amplitude(self, key="amplitude"):
        lo, hi = self.p[key]
        return float(self.rng.uniform(lo, hi))

    def clip(self, folder: Path, names, key, emotion, aus, gray, truth_path):
        """Render one short clip into ``folder`` (frame files ``names[i]``) and its truth side file."""
        neutral, lm = self.clip_face(key, gray)
        n = len(names)
        apex = int(round(n * self.rng.uniform(0.3, 0.5)))
        amp = self.amplitude()
        frames, truth = render_clip(neutral, lm, aus, amp, n, apex, self.rng, self.p["noise"], self.p["drift"])
        folder.mkdir(parents=True, exist_ok=True)
        for name, f in zip(names, frames):
            _imwrite(folder / name, f, self.p["jpeg_quality"])
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(truth_path, emotion=emotion, **truth)
        return apex

    def n_clip(self):
        lo, hi = self.p["clip_frames"]
        return int(self.rng.integers(lo, hi + 1))

    # ---- CASME II -------------------------------------------------------------------------
    def casme2(self) -> Path:
        root = self.out / "CASME2"
        rows = []
        for s in range(1, self.p["casme2_subjects"] + 1):
            sub = f"sub{s:02d}"
            eps = self.rng.choice(np.arange(1, 20), size=self.p["casme2_clips"], replace=False)
            for k, emo in enumerate(_emotions(CASME2_MAIN, CASME2_EXTRA, self.p["casme2_clips"], self.rng)):
                clip = f"EP{eps[k]:02d}_{k + 1:02d}" + ("f" if self.rng.random() < 0.5 else "")
                n, onset = self.n_clip(), int(self.rng.integers(10, 150))
                aus = _aus(emo, self.rng)
                names = [f"img{onset + i}.jpg" for i in range(n)]
                apex = self.clip(root / "CASME2_RAW_selected" / sub / clip, names, ("casme2", sub), emo, aus, False,
                                 root / "synthme_truth" / sub / f"{clip}.npz")
                rows.append(dict(subject_no=s, clip=clip, onset=onset, apex=onset + apex, offset=onset + n - 1,
                                 aus=aus, emotion=emo))
        writers.write_casme2(root / writers.CASME2_FILE, rows)
        return root

    # ---- long-video event plans -----------------------------------------------------------
    def schedule(self, n, fps, n_me, emotions, jaw):
        """Non-overlapping events (0-based) for one video: MEs + macro + 2 blinks + 1 head move."""
        r = self.rng
        p = self.p
        specs = [("micro", r.uniform(*p["me_seconds"]), e) for e in emotions[:n_me]]
        specs += [("macro", r.uniform(*p["macro_seconds"]), str(r.choice(list(EMOTION_AUS))))]
        specs += [("blink", r.uniform(0.1, 0.25), ""), ("blink", r.uniform(0.1, 0.25), "")]
        specs += [("head", r.uniform(*p["head_seconds"]), "")]
        specs = [specs[i] for i in r.permutation(len(specs))]
        lengths = [max(int(round(sec * fps)), 3) for _, sec, _ in specs]
        free = n - sum(lengths) - 2
        if free < len(specs) + 1:
            raise ValueError(f"SynthME: a video of {n} frames at {fps} fps cannot hold {len(specs)} events "
                             f"of {sum(lengths)} frames; raise the *_frames parameter")
        gaps = np.floor(r.dirichlet(np.ones(len(specs) + 1)) * free).astype(int)
        events, t = [], 1 + gaps[0]
        for (kind, _, emo), length, gap in zip(specs, lengths, gaps[1:]):
            e = dict(kind=kind, onset=int(t), offset=int(t + length - 1), emotion=emo if kind != "blink" else "")
            e["apex"] = int(t + round((length - 1) * r.uniform(0.3, 0.5)))
            e["aus"] = {"blink": "45", "head": ""}[kind] if kind in ("blink", "head") else _aus(emo, r)
            e["amplitude"] = 0.045 * jaw if kind == "blink" else self.amplitude(
                "macro_amplitude" if kind == "macro" else "video_amplitude")
            if kind == "head":
                ang = r.uniform(0, 2 * np.pi)
                mag = r.uniform(2, 6) * jaw / 96
                e.update(shift=[float(mag * np.cos(ang)), float(mag * np.sin(ang))],
                         rotation=float(r.uniform(-2, 2)), amplitude=float(mag))
            if kind == "macro":
                e["emotion"] = ""
            events.append(e)
            t += length + gap
        return events

    def video(self, folder: Path, name_of, key, n, fps, n_me, emotions, gray, truth_path, n_drop=0):
        neutral, lm = self.video_face(key, gray)
        jaw = float(np.linalg.norm(lm[16] - lm[0]))
        events = self.schedule(n, fps, n_me, emotions, jaw)
        drop = self._drops(events, n, n_drop) if n_drop else set()
        folder.mkdir(parents=True, exist_ok=True)
        q = self.p["jpeg_quality"]
        activity = render_video(neutral, lm, events, n, self.rng,
                                lambda i, f: None if i in drop else _imwrite(folder / name_of(i), f, q),
                                self.p["noise"], int(self.p.get("noise_fields", 4)))
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        keep = ("onset", "apex", "offset", "kind", "emotion", "aus")
        truth = {"events": [{k: e[k] for k in keep} for e in events],
                 "amplitudes": [e["amplitude"] for e in events],
                 "activity": {k: [round(float(v), 3) for v in a] for k, a in activity.items()},
                 "dropped": sorted(int(d) for d in drop), "landmarks": lm.tolist()}
        truth_path.write_text(json.dumps(truth))
        return events

    def _drops(self, events, n, k=2):
        """k frame indices outside every event (CAS(ME)^3's dropped frames)."""
        busy = np.zeros(n, bool)
        for e in events:
            busy[max(e["onset"] - 1, 0): e["offset"] + 2] = True
        busy[[0, n - 1]] = True
        free = np.flatnonzero(~busy)
        return set(self.rng.choice(free, size=min(k, len(free)), replace=False).tolist())

    # ---- CAS(ME)^3 ------------------------------------------------------------------------
    def casme3(self) -> Path:
        root = self.out / "CASME3"
        base = root / "part_A" / "data" / "part_A_split" / "part_A"
        rows, full, blinks = [], [], []
        n_me, n_vid, n = self.p["casme3_mes"], self.p["casme3_videos"], self.p["casme3_frames"]
        for s in range(1, self.p["casme3_subjects"] + 1):
            sub = f"spNO.{s}"
            emos = _emotions(CASME3_MAIN, CASME3_EXTRA, n_me * n_vid, self.rng)
            for v in range(n_vid):
                vid = "abcdefghijklm"[v]
                events = self.video(base / sub / vid / "color", lambda i: f"{i + 1}.jpg", ("casme3", sub), n, 30,
                                    n_me, emos[v * n_me:(v + 1) * n_me], False,
                                    root / "synthme_truth" / sub / f"{vid}.json", n_drop=2)
                for e in events:
                    row = dict(subject=sub, video=vid, onset=e["onset"] + 1, apex=e["apex"] + 1,
                               offset=e["offset"] + 1, aus=e["aus"], emotion=e["emotion"], kind=e["kind"])
                    if e["kind"] == "micro":
                        rows.append(row)
                    if e["kind"] in ("micro", "macro"):
                        full.append(row)
                    if e["kind"] == "blink":
                        blinks.append(row)
        if rows:
            rows[0] = dict(rows[0], emotion=rows[0]["emotion"].capitalize() if rows[0]["emotion"] == "others"
                           else rows[0]["emotion"])
        writers.write_casme3(root / writers.CASME3_FILE, rows)
        writers.write_casme3_full(root / writers.CASME3_FULL_FILE, full, blinks)
        return root

    # ---- SAMM and SAMM-LV -----------------------------------------------------------------
    def samm_and_lv(self, parts) -> dict[str, Path]:
        samm_root, lv_root = self.out / "SAMM", self.out / "SAMM_LV"
        samm_rows, lv_rows, n_lv = [], [], self.p["samm_lv_subjects"] if "samm_lv" in parts else 0
        n_me, n, n_vid = self.p["samm_lv_mes"], self.p["samm_lv_frames"], int(self.p.get("samm_lv_videos", 1))
        for s in range(self.p["samm_subjects"]):
            sub = f"{6 + s:03d}"
            emos = _emotions(SAMM_MAIN, SAMM_EXTRA, self.p["samm_clips"], self.rng)
            n_all = n_me * n_vid if s < n_lv else 0
            if n_all:  # LV MEs cycle through the 4-class protocol's classes across subjects
                emos = [LV_CYCLE[(s * n_all + k) % len(LV_CYCLE)] for k in range(n_all)] + emos
            clips = []  # (filename, emotion, aus, onset number) of the SAMM clips
            for v in range(n_vid if s < n_lv else 0):
                vid = f"{sub}_{v + 1}"
                events = self.video(lv_root / "SAMM_longvideos" / vid, lambda i, v=vid: f"{v}_{i + 1:04d}.jpg",
                                    ("samm", sub), n, 200, n_me, emos[v * n_me:(v + 1) * n_me], True,
                                    lv_root / "synthme_truth" / f"{vid}.json")
                for k, e in enumerate(ev for ev in events if ev["kind"] in ("micro", "macro")):
                    name = f"{vid}_{k + 1}"
                    lv_rows.append(dict(subject=sub, name=name, kind=e["kind"], onset=e["onset"] + 1,
                                        apex=e["apex"] + 1, offset=e["offset"] + 1, aus=e["aus"]))
                    if e["kind"] == "micro":
                        clips.append((name, e["emotion"], e["aus"], 1000 + e["onset"] + 1, e["offset"] - e["onset"] + 1))
            emos = emos[n_all:]
            for k, emo in enumerate(emos[: max(self.p["samm_clips"] - len(clips), 0)]):  # names after the videos'
                clips.append((f"{sub}_{max(n_vid, 1) + 1 + k // 3}_{k % 3 + 1}", emo, _aus(emo, self.rng),
                              int(self.rng.integers(2000, 9000)), self.n_clip()))
            if "samm" not in parts:
                continue
            for name, emo, aus, onset, length in clips:
                names = [f"{sub}_{onset + i:05d}.jpg" for i in range(length)]
                apex = self.clip(samm_root / "SAMM" / sub / name, names, ("samm", sub), emo, aus, True,
                                 samm_root / "synthme_truth" / sub / f"{name}.npz")
                samm_rows.append(dict(subject=sub, clip=name, onset=onset, apex=onset + apex,
                                      offset=onset + length - 1, aus=aus, emotion=emo))
        out = {}
        if "samm" in parts:
            samm_root.mkdir(parents=True, exist_ok=True)
            writers.write_samm(samm_root / writers.SAMM_FILE, samm_rows)
            out["samm"] = samm_root
        if n_lv:
            writers.write_samm_lv(lv_root / writers.SAMM_LV_FILE, lv_rows)
            out["samm_lv"] = lv_root
        return out


def generate(out: Path, params: dict, seed: int = 0) -> dict[str, Path]:
    """Write the SynthME datasets named in ``params["parts"]`` under ``out``; returns their roots."""
    g = Generator(out, params, seed)
    parts = list(params["parts"])
    roots = {}
    if "casme2" in parts:
        roots["casme2"] = g.casme2()
    if "samm" in parts or "samm_lv" in parts:
        roots.update(g.samm_and_lv(parts))
    if "casme3" in parts:
        roots["casme3"] = g.casme3()
    return {k: roots[k] for k in ("casme2", "samm", "casme3", "samm_lv") if k in roots}
