"""Every setting a user can choose, in one torch-free package: what each one means, its default, its range and
allowed values (`base`), grouped as the runs use them (`model`, `masking`, `train`, `finetune`, `pretrain`).

The front ends are made from this metadata (CLI flags, GUI widgets, the README's table), so a new setting is one
field here. The window imports this package before torch: keep it free of torch, Qt and the store.
"""
