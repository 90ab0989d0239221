"""A launch_testing test, run by `launch_test` (test_launch_files.py): it includes one of the
package's launch files with the arguments in $LAUNCH_CHECK (JSON) and checks, while it runs,
that messages arrive on the given topics, that parameters hold the given values and that the
given nodes are alive; after shutdown, that no process logged the given texts.

$LAUNCH_CHECK: {"file": "sensors.launch.py", "arguments": {"namespace": "robot1"},
"topics": {"/robot1/image": ["sensor_msgs/msg/Image", 5]}, "parameters": {"/robot1/camera":
{"width": 640}}, "alive": ["/robot1/camera"], "never_logged": ["expecting type"], "timeout": 60}
"""

import json
import os
import time
import unittest

import launch
import launch_testing
import launch_testing.actions
import pytest
import rclpy
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import PathJoinSubstitution
from launch_ros.substitutions import FindPackageShare
from rclpy.parameter import parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient
from rclpy.qos import qos_profile_sensor_data
from rosidl_runtime_py.utilities import get_message

CHECK = json.loads(os.environ["LAUNCH_CHECK"])


@pytest.mark.launch_test
def generate_test_description():
    launch_file = PathJoinSubstitution([FindPackageShare("emotion_ros"), "launch", CHECK["file"]])
    included = IncludeLaunchDescription(PythonLaunchDescriptionSource(launch_file),
                                        launch_arguments=CHECK.get("arguments", {}).items())
    return launch.LaunchDescription([included, launch_testing.actions.ReadyToTest()])


class TestWhileRunning(unittest.TestCase):
    def test_topics_parameters_and_nodes(self):
        rclpy.init()
        node = rclpy.create_node("launch_check")
        try:
            deadline = time.monotonic() + CHECK.get("timeout", 60)
            counts = {topic: 0 for topic in CHECK.get("topics", {})}
            for topic, (type_name, _) in CHECK.get("topics", {}).items():
                node.create_subscription(get_message(type_name), topic,
                                         lambda msg, topic=topic: counts.__setitem__(topic, counts[topic] + 1),
                                         qos_profile_sensor_data)
            wanted = {topic: count for topic, (_, count) in CHECK.get("topics", {}).items()}
            while time.monotonic() < deadline and any(counts[t] < n for t, n in wanted.items()):
                rclpy.spin_once(node, timeout_sec=0.1)
            self.assertTrue(all(counts[t] >= n for t, n in wanted.items()), f"messages {counts}, wanted {wanted}")
            for target, expected in CHECK.get("parameters", {}).items():
                client = AsyncParameterClient(node, target)
                waited = client.wait_for_services(timeout_sec=max(5.0, deadline - time.monotonic()))  # a model loading
                self.assertTrue(waited, f"no parameter services of {target}")
                future = client.get_parameters(list(expected))
                rclpy.spin_until_future_complete(node, future, timeout_sec=20.0)
                got = {name: parameter_value_to_python(value) for name, value in zip(expected, future.result().values)}
                self.assertEqual(got, expected, target)
            alive = set(CHECK.get("alive", []))

            def running():
                return {f"{ns.rstrip('/')}/{name}" for name, ns in node.get_node_names_and_namespaces()}

            while time.monotonic() < deadline and not alive <= running():  # discovery takes a moment
                rclpy.spin_once(node, timeout_sec=0.1)
            self.assertLessEqual(alive, running())
        finally:
            node.destroy_node()
            rclpy.shutdown()


@launch_testing.post_shutdown_test()
class TestAfterShutdown(unittest.TestCase):
    def test_nothing_unwanted_was_logged(self, proc_output):
        logged = "".join(line.text.decode(errors="replace") for line in proc_output)
        for text in CHECK.get("never_logged", []):
            self.assertNotIn(text, logged)
