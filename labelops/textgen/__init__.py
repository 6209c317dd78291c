"""The text generator: a causal language model that writes a product's description and tags.

Modules, in the order data flows through them: ``serialize`` (prompt and target text, reference
tags), ``tokenizer`` (byte-level BPE), ``data`` (splits, examples, DataModule), ``model``
(LightningModule), ``train`` (prepare → fit → register), ``generate`` (batched decoding),
``pyfunc`` (the MLflow model), ``metrics`` and ``baselines`` (evaluation).
"""
