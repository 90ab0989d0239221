"""ROS 2 nodes: thin shells (parameters, QoS, callbacks) around the plain modules."""
