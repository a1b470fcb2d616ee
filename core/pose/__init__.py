"""Perception: video probing/decoding/crops (``video``) and MediaPipe pose estimation
(``estimate``). Video -> ``PoseTrack`` (2D + 3D skeleton per frame)."""

from core.pose.estimate import default_model_path, estimate_pose, stabilize_bone_lengths
from core.pose.video import VIDEO_SUFFIXES, VideoInfo, iter_frames, person_crops, probe_video

__all__ = [
    "VIDEO_SUFFIXES",
    "VideoInfo",
    "default_model_path",
    "estimate_pose",
    "iter_frames",
    "person_crops",
    "probe_video",
    "stabilize_bone_lengths",
]
