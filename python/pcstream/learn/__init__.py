"""Training side of the learned geometry codec (torch, an optional extra: ``pip install pcstream[learn]``).

Only ``pcstream.learn`` modules may import torch; ``model_file`` is numpy-only so
model files can be written and inspected without torch. Decoding never needs
this package (see :mod:`pcstream.learned`).
"""
