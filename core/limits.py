"""The one place for input limits: what a clip, an upload, a motion file or a question may be.

The app, the CLI, the Python API and the loaders all read these, so a limit changed here is
changed everywhere (and the messages that quote them follow).
"""

MAX_UPLOAD_BYTES = 500 * 2**20  # a clip or motion file the user gives us
MAX_CLIP_SECONDS = 120.0  # longer clips are refused before any decoding
MAX_QUESTION_CHARS = 500

# Motion files: checked from the headers before anything is allocated or decompressed (a
# 1.5 MB .npz can unpack to gigabytes). 20,000 frames is 120 s at 166 fps.
MAX_MOTION_FRAMES = 20_000
MAX_MOTION_SECONDS = MAX_CLIP_SECONDS
MAX_MOTION_ARRAY_BYTES = 64 * 2**20  # any one array once unpacked (120 s at 60 fps: 3 MB)
MAX_MOTION_TEXT_BYTES = 50 * 2**20  # .json and .csv are parsed into Python objects first
MAX_JSON_DEPTH = 8  # a motion JSON is an object of (T, J, C) lists: depth 4
