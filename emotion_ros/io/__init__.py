"""ROS <-> numpy conversions and capture sources (camera, microphone, media files)."""
