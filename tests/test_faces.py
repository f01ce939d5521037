"""melib.faces on the real astronaut photograph (skimage) and on a face-free image."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from melib import faces


def test_model_file_found():
    path = faces.model_path()
    assert path.name == "shape_predictor_68_face_landmarks.dat" and path.stat().st_size > 50_000_000


def test_astronaut_face_and_landmarks():
    img = data.astronaut()
    assert len(faces.detect_faces(img)) == 2  # dlib also fires on the suit
    x0, y0, x1, y1 = faces.detect_face(img)
    assert (x0, y0, x1, y1) == (175, 76, 265, 166)  # the real face: top one, higher score
    lm = faces.landmarks(img)
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    assert x0 <= lm[30, 0] <= x1 and y0 <= lm[30, 1] <= y1  # nose tip inside the box
    assert lm[36:42, 1].mean() < lm[30, 1] < lm[48:60, 1].mean()  # eyes above nose above mouth
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()  # subject's right eye on the image left
    gray = faces.landmarks(np.asarray(img.mean(2), np.uint8))
    assert np.abs(gray - lm).mean() < 2.0


def test_no_face_error_names_source():
    with pytest.raises(faces.FaceNotFoundError, match="frame_0001.jpg: no face found"):
        faces.detect_face(np.full((120, 160), 128, np.uint8), source="frame_0001.jpg")
    with pytest.raises(TypeError, match="uint8"):
        faces.detect_face(np.zeros((50, 50), np.float32))


def test_box_and_crop():
    img = data.astronaut()
    lm = faces.landmarks(img)
    box = faces.face_box(lm, scale=1.2, shape=img.shape)
    assert box[2] - box[0] == pytest.approx(1.2 * np.ptp(lm[:, 0]), abs=2)
    patch = faces.crop(img, box, size=64)
    assert patch.shape == (64, 64, 3)
    assert faces.face_box(lm * 0 + [[5, 5]] + np.r_[[[0, 0]], [[20, 20]] * 67], 2.0, (30, 30))[0] == 0  # clipped
