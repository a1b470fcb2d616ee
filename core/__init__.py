"""LLaMo coaching core: skeletons, pose estimation, the LLaMo model, analytics, ``Coach``."""
