"""Compression lab: int8, head and magnitude pruning, ONNX and bitsandbytes variants behind an accuracy gate.

`tp.compression.optimize.optimize_run` builds the variants of a run folder into `RUN_DIR/variants/<name>/`,
measures each one next to the fp32 baseline on the run's recorded test split (texts, or images for a ViT
run), and writes
`reports/compression.md`, `reports/compression.png` and a section of the model card.
`tp.compression.variants.load_variant` loads a variant back and refuses a rejected one unless forced.
"""
