"""emotion_ros: an ament_python package, also installable with pip (see README)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "emotion_ros"


def share(folder: str, pattern: str = "*"):
    return (f"share/{PACKAGE}/{folder}", [f for f in glob(f"{folder}/{pattern}")])


setup(
    name=PACKAGE,
    version="0.1.0",
    description="Real-time multimodal emotion understanding for ROS 2 robots",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[PACKAGE, f"{PACKAGE}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        share("launch", "*.launch.py"),
        share("config", "*.yaml"),
        share("config", "*.xml"),
        share("config/train", "*.yaml"),
        share("models", "*.yaml"),
        share("models", "*.md"),
        share("models/tiny"),  # the assembled default checkpoint (emotion-ros assemble-tiny), when present
        share("models/perception"),  # the default model's trained perception parts (emotion-ros build-tiny --parts-out)
        share("models/language_head"),  # the language head's trained parts (emotion-ros train-head)
        share("export"),
    ],
    zip_safe=False,
    entry_points={
        "console_scripts": [
            "emotion-ros = emotion_ros.cli:main",
            "camera_node = emotion_ros.nodes.camera_node:main",
            "microphone_node = emotion_ros.nodes.microphone_node:main",
            "file_source_node = emotion_ros.nodes.file_source_node:main",
            "window_monitor_node = emotion_ros.nodes.window_monitor_node:main",
            "emotion_node = emotion_ros.nodes.perception_node:main",
            "speech_recognizer_node = emotion_ros.nodes.speech_recognizer_node:main",
            "hri_behaviour_node = emotion_ros.nodes.hri_behaviour_node:main",
        ],
    },
)
