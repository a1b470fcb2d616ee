"""Errors a user can act on. The app shows their message as-is, so say what to do."""


class InputError(ValueError):
    """Bad user input (file type, corrupt or oversized video, no person, malformed data)."""


class ModelFilesError(FileNotFoundError):
    """Model files (pose model, LLM, trained weights) are missing or incomplete."""
