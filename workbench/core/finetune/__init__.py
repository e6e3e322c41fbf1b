"""Fine-tuning a pretrained encoder on labelled data: sentence classification, token tagging and extractive QA.

`data` reads the files, `encoding` turns examples into padded tensors, `heads` holds the task models with
HuggingFace parameter names, `qa` windows long contexts and picks answer spans, `metrics` scores predictions
exactly as the reference scripts do, and `trainer` runs the epochs. Nothing here knows about the run store.
"""
