"""Packaging: package manifests, installed data, launch files and interfaces."""

import ast
import re
from pathlib import Path

import pytest
from catkin_pkg.package import parse_package

ROOT = Path(__file__).resolve().parent.parent


def test_package_xml_is_format_3_with_real_dependencies():
    package = parse_package(str(ROOT / "package.xml"))
    assert package.package_format == 3 and package.name == "emotion_ros"
    assert package.get_build_type() == "ament_python"
    depends = {d.name for d in package.build_depends + package.exec_depends}
    assert {"rclpy", "sensor_msgs", "std_msgs", "diagnostic_msgs", "lifecycle_msgs", "emotion_msgs"} <= depends
    interfaces = parse_package(str(ROOT / "interfaces" / "emotion_msgs" / "package.xml"))
    assert interfaces.package_format == 3 and interfaces.get_build_type() == "ament_cmake"
    assert "rosidl_interface_packages" in [g.name for g in interfaces.member_of_groups]


def console_scripts() -> set[str]:
    text = (ROOT / "setup.py").read_text()
    return set(re.findall(r'"([a-z_-]+) = emotion_ros[\w.]*:main"', text))


def test_console_scripts_point_at_real_functions():
    import importlib

    text = (ROOT / "setup.py").read_text()
    for name, target in re.findall(r'"([a-z_-]+) = (emotion_ros[\w.:]+)"', text):
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), name
    assert {"emotion-ros", "camera_node", "microphone_node", "file_source_node", "window_monitor_node"} <= console_scripts()


def test_ament_resource_marker_and_data_folders_exist():
    assert (ROOT / "resource" / "emotion_ros").is_file()
    for folder in ("launch", "config", "models", "export"):
        assert (ROOT / folder).is_dir()


LAUNCH_FILES = sorted((ROOT / "launch").glob("*.launch.py"))


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_names_only_real_executables_files_and_arguments(path):
    """launch/launch_ros are not on PyPI: check the file statically instead of running it."""
    tree = ast.parse(path.read_text(), filename=str(path))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]

    def keyword(call, name):
        return next((k.value for k in call.keywords if k.arg == name), None)

    nodes = [c for c in calls if getattr(c.func, "id", "") == "Node"]
    assert nodes, "a launch file that starts no node"
    for call in nodes:
        assert keyword(call, "package").value == "emotion_ros"
        assert keyword(call, "executable").value in console_scripts()
    # Every share file it joins exists in the source tree (and is installed by setup.py).
    for call in calls:
        if getattr(call.func, "id", "") == "PathJoinSubstitution":
            parts = [e.value for e in call.args[0].elts if isinstance(e, ast.Constant)]
            assert (ROOT.joinpath(*parts)).is_file(), parts
    declared = {c.args[0].value for c in calls if getattr(c.func, "id", "") == "DeclareLaunchArgument"}
    used = {c.args[0].value for c in calls if getattr(c.func, "id", "") == "LaunchConfiguration"}
    assert used <= declared, f"undeclared launch arguments: {used - declared}"
    # Node parameter overrides name parameters the node really declares.
    import yaml

    params = {}
    for name in ("sensors.yaml", "emotion.yaml"):
        params.update(yaml.safe_load((ROOT / "config" / name).read_text()))

    def flat(tree, prefix=""):
        for key, value in tree.items():
            yield from flat(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]

    for call in nodes:
        node_name = keyword(call, "name").value
        known = set(flat(params[f"/**/{node_name}"]["ros__parameters"])) | {"autostart", "use_sim_time"}
        for element in keyword(call, "parameters").elts:
            if isinstance(element, ast.Dict):
                for key in element.keys:
                    assert key.value in known, f"{node_name}: {key.value}"


def test_interfaces_have_the_designed_fields():
    from emotion_msgs.msg import AudioFrame, EmotionState, Explanation
    from emotion_msgs.srv import Explain

    fields = EmotionState.get_fields_and_field_types()
    for name in ("header", "window_start", "labels", "scores", "label", "confidence", "valence", "arousal",
                 "speaking", "video_present", "audio_present", "model_id", "latency"):
        assert name in fields, name
    assert fields["scores"] == "sequence<float>" and fields["labels"] == "sequence<string>"
    assert set(AudioFrame.get_fields_and_field_types()) == {"header", "sample_rate", "channels", "encoding", "data"}
    assert AudioFrame.ENCODING_S16LE == "S16LE" and AudioFrame.ENCODING_F32LE == "F32LE"
    assert {"text", "label", "latency", "tokens_generated"} <= set(Explanation.get_fields_and_field_types())
    assert "question" in Explain.Request.get_fields_and_field_types()
    assert Explain.Response.get_fields_and_field_types()["explanation"] == "emotion_msgs/Explanation"


def _requirement_names(*files: str) -> set[str]:
    names = set()
    for name in files:
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-"):
                names.add(re.split(r"[=<>\[ ]", line)[0].lower().replace("_", "-"))
    return names


def test_the_runtime_requirements_hold_what_the_package_imports_and_dev_the_rest():
    """requirements.txt (with the data wheels of requirements-nodeps.txt) holds every
    distribution a module of the package imports; requirements-dev.txt's are imported only by
    the benchmarks that measure against them, inside the function that needs them, so that the
    command line starts without them."""
    import importlib.metadata
    import sys

    runtime, dev = _requirement_names("requirements.txt", "requirements-nodeps.txt"), _requirement_names("requirements-dev.txt")
    assert not runtime & dev, runtime & dev
    distributions = importlib.metadata.packages_distributions()
    ours = {"emotion_ros", "emotion_msgs", "hri_msgs", "tensorrt"}  # the workspace's, ROS4HRI (optional), the GPU machine's
    missing, eager = [], []
    for path in sorted((ROOT / "emotion_ros").rglob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module.split(".")[0]]
            else:
                continue
            for module in set(modules) - set(sys.stdlib_module_names) - ours:
                names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
                where = path.relative_to(ROOT).as_posix()
                if names & dev:
                    if id(node) in top_level or not where.startswith("emotion_ros/eval/"):
                        eager.append(f"{where}: {module}")
                elif not names & runtime:
                    missing.append(f"{where}: {module} ({', '.join(sorted(names))})")
    assert not missing, f"requirements.txt misses: {missing}"
    assert not eager, f"development-only packages imported where a robot runs: {eager}"
