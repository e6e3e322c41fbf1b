"""One module per panel, in the order of the work: Data, Tokenizer, Masking, Model, Train, Runs."""
