"""Untrained weights never run by accident: the node and the CLI refuse them and say what to run."""

import sys

import pytest
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter

import emotion_ros.model.resolve as resolve
from emotion_ros import paths
from emotion_ros.cli import main
from emotion_ros.nodes.perception_node import PerceptionNode
from emotion_ros.nodes.runner import shut_down
from emotion_ros.runtime.backends import UntrainedModel, create_backend


@pytest.fixture
def unbuilt(monkeypatch, tmp_path):
    """A package share directory without models/tiny, as a colcon user has before assemble-tiny."""
    monkeypatch.setattr(resolve, "share_dir", lambda: tmp_path)
    return tmp_path


def test_a_preset_without_weights_is_refused_with_the_command_that_builds_it(unbuilt):
    with pytest.raises(UntrainedModel, match="emotion-ros assemble-tiny"):
        create_backend("auto", "tiny")
    with pytest.raises(UntrainedModel, match="preset 'edge' has no trained checkpoint"):
        create_backend("onnxruntime", "edge")
    backend = create_backend("torch", "tiny", allow_untrained=True)
    assert not backend.trained and backend.model_id == "tiny@untrained"


def test_the_node_refuses_untrained_weights_unless_allowed(ros, unbuilt):
    refused = PerceptionNode(parameter_overrides=[Parameter("backend", value="torch")])
    allowed = PerceptionNode(parameter_overrides=[Parameter("backend", value="torch"),
                                                  Parameter("allow_untrained", value=True)])
    try:
        assert refused.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert "emotion-ros assemble-tiny" in refused.failure_reason
        assert allowed.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert allowed.backend.model_id == "tiny@untrained"
    finally:
        shut_down([refused, allowed])


def test_predict_says_what_to_run_in_one_line(unbuilt, capsys, sample_clip):
    assert main(["predict", "--video", str(sample_clip), "--no-explain"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "emotion-ros assemble-tiny" in err[0]


def test_share_dir_without_ros(monkeypatch):
    monkeypatch.setitem(sys.modules, "ament_index_python", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "ament_index_python.packages", None)
    assert (paths.share_dir() / "package.xml").is_file()


def _pip_lines(section: str) -> list[str]:
    text = section.replace("\\\n", " ")
    return [line.split("#")[0].split("pip install", 1)[1] for line in text.splitlines() if "pip install" in line]


def test_the_readme_colcon_path_installs_everything_the_package_imports():
    """Every third-party module the package imports, and every wheel whose data it reads, is on
    the README's pip lines, or comes from rosdep / the workspace."""
    import ast
    import importlib.metadata
    import re
    from pathlib import Path

    root = Path(paths.__file__).resolve().parent
    readme = (root.parent / "README.md").read_text()
    section = readme[readme.index("## With a ROS 2 distribution"):]
    section = section[:section.index("\n## ")]
    listed = {re.split(r"[=<>]", word)[0].lower().replace("_", "-") for line in _pip_lines(section)
              for word in line.split() if not word.startswith("-")}
    modules, data_wheels = set(), set()
    for path in root.rglob("*.py"):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
        data_wheels |= set(re.findall(r'package_data_file\(\s*"(\w+)"', source))
    from_ros = {"emotion_msgs", "hri_msgs", "numpy", "cv2", "yaml"}  # the workspace, ROS4HRI (optional), rosdep
    optional = {"tensorrt"}  # the GPU machine's own
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module in sorted((modules | data_wheels) - set(sys.stdlib_module_names) - from_ros - optional - {"emotion_ros"}):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if any(name.startswith("ros-") for name in names):
            continue  # rclpy and messages: rosdep
        if not names & listed:
            missing.append(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"the README's pip lines miss: {missing}"
    assert "emotion-ros assemble-tiny" in section


def test_a_checkpoints_weights_file_stands_for_its_directory(tiny_checkpoint):
    from emotion_ros.model.resolve import resolve_model

    assert resolve_model(str(tiny_checkpoint / "model.safetensors")) == tiny_checkpoint
    with pytest.raises(FileNotFoundError, match="neither a checkpoint directory nor a preset"):
        resolve_model(str(tiny_checkpoint / "config.yaml"))
