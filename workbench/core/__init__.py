"""The Qt-free engine: corpora, tokenizers, masking, the encoder and training. Never imports Qt or SQL."""
