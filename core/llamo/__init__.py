"""The LLaMo model (CVPR 2025, "Human Motion Instruction Tuning").

``config`` (LLaMoConfig) -> ``features`` (Motion -> per-frame features) -> ``motion_encoder`` /
``video_encoder`` -> ``feature_enhancer`` -> ``cross_talker`` (viewpoint frames) ->
``projector`` -> ``model`` (LLaMo: splice at the placeholder token, loss, save/load), with
``inputs`` (tokenization, batching), ``generate`` (greedy decoding), ``llm`` (backbone loading)
and ``prompts`` (the one template registry). Importing this package loads no torch; import
the submodules.
"""
