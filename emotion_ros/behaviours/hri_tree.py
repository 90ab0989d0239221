"""An example human-robot-interaction tree: back off from an angry person, greet a happy one.

  ros2 run emotion_ros hri_behaviour_node   (publishes the chosen behaviour on robot/behaviour)

  Selector
  |-- Sequence "react to anger":    EmotionIs(angry | disgust)  -> Act("back_off")
  |-- Sequence "greet happy people": EmotionIs(happy)           -> Act("greet")
  `-- Act("idle")
"""

from __future__ import annotations

from typing import Callable

import py_trees
from py_trees.common import Status

from emotion_ros.behaviours.conditions import EmotionIs


class Act(py_trees.behaviour.Behaviour):
    """Asks the robot to do ``action`` (through ``command``) and succeeds; repeats of the same
    action are not re-sent, so a tree ticking at 10 Hz does not spam the robot."""

    def __init__(self, action: str, command: Callable[[str], None], memory: dict):
        super().__init__(f"Act({action})")
        self.action, self.command, self.memory = action, command, memory

    def update(self) -> Status:
        if self.memory.get("current") != self.action:
            self.memory["current"] = self.action
            self.command(self.action)
        return Status.SUCCESS


def build_hri_tree(command: Callable[[str], None], min_confidence: float = 0.0, max_age: float = 2.0) -> py_trees.trees.BehaviourTree:
    memory: dict = {}
    root = py_trees.composites.Selector("respond to emotion", memory=False, children=[
        py_trees.composites.Sequence("react to anger", memory=False, children=[
            EmotionIs(("angry", "disgust"), min_confidence, max_age), Act("back_off", command, memory)]),
        py_trees.composites.Sequence("greet happy people", memory=False, children=[
            EmotionIs("happy", min_confidence, max_age), Act("greet", command, memory)]),
        Act("idle", command, memory),
    ])
    return py_trees.trees.BehaviourTree(root)
