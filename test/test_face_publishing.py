"""hri.publish_faces: auto yields to another face publisher as soon as discovery shows it, and
takes over again only after a random quiet spell."""

import random

import pytest

from emotion_ros.runtime.face_publishing import QUIET_BEFORE_STARTING, FacePublishing


def test_auto_stops_when_another_publisher_is_discovered_after_start_and_resumes_after_a_quiet_spell():
    policy = FacePublishing("auto", others=0, now=0.0, rng=random.Random(0))
    assert policy.active  # discovery not finished: nobody else seen yet
    assert policy.publishing(0, 0.5)
    assert not policy.publishing(1, 1.0)  # hri_face_detect discovered: yield at once
    assert not policy.publishing(1, 5.0)
    assert not policy.publishing(0, 5.5)  # it went away: wait before taking over
    low, high = QUIET_BEFORE_STARTING
    assert not policy.publishing(0, 5.5 + low - 0.01)
    assert policy.publishing(0, 5.5 + high + 0.01)


def test_two_auto_nodes_end_with_one_publisher():
    a, b = (FacePublishing("auto", 0, 0.0, random.Random(seed)) for seed in (1, 2))
    for step in range(200):
        now = step * 0.5
        a_on, b_on = a.active, b.active  # what each saw of the other at the last window
        a.publishing(int(b_on), now)
        b.publishing(int(a_on), now)
    assert a.active != b.active


@pytest.mark.parametrize("mode, others, expected", [("always", 3, True), ("never", 0, False)])
def test_always_and_never_do_not_depend_on_discovery(mode, others, expected):
    policy = FacePublishing(mode, others, 0.0)
    assert policy.publishing(others, 10.0) == expected and policy.publishing(0, 20.0) == expected


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="hri.publish_faces must be one of auto, always, never"):
        FacePublishing("sometimes", 0, 0.0)
