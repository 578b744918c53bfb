"""Face crops: OpenCV's Haar cascade from inside the wheel (no download), pure arrays."""

import numpy as np
from skimage import data

from labeling.camera.faces import face_crops, faces_detect

from .frames import face_frame


def test_the_astronauts_face_is_found_and_cropped_with_a_margin():
    frame = face_frame()
    faces = faces_detect(frame)
    assert len(faces) == 1
    face = faces[0]
    crops = face_crops(frame, margin=0.25)
    assert len(crops) == 1
    # The margin makes the crop larger than the face, but never larger than the frame.
    assert crops[0].shape[0] > face.h and crops[0].shape[1] > face.w
    assert crops[0].shape[0] <= frame.shape[0] and crops[0].shape[1] <= frame.shape[1]


def test_a_frame_without_a_face_gives_no_crop():
    assert face_crops(np.full((240, 320, 3), 128, np.uint8)) == []
    for picture in (data.chelsea(), data.coffee(), data.rocket()):  # a cat, a cup, a launch pad
        assert face_crops(picture) == []
    rng = np.random.default_rng(0)
    assert face_crops(rng.integers(0, 256, (240, 320, 3)).astype(np.uint8)) == []


def test_large_frames_are_searched_reduced_and_answered_in_their_own_pixels():
    [small] = faces_detect(face_frame((480, 640)))
    [big] = faces_detect(face_frame((960, 1280)))  # searched at 640x480, answered at 1280x960
    assert abs(big.x - 2 * small.x) <= 8 and abs(big.w - 2 * small.w) <= 8
