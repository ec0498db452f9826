"""Logistics vision: container codes, synthetic yard scenes, COCO data, detectors, camera footage.

Submodules are imported on demand so ``kit.vision.iso6346`` works without
importing Torch.
"""
