"""The one place for input limits: what a clip, an upload, a motion file or a question may be.

The app, the CLI, the Python API and the loaders all read these, so a limit changed here is
changed everywhere (and the messages that quote them follow).
"""

MAX_UPLOAD_BYTES = 500 * 2**20  # a clip or motion file the user gives us
MAX_CLIP_SECONDS = 120.0  # longer clips are refused before any decoding
MAX_QUESTION_CHARS = 500
