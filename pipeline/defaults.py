"""The pipeline's training budget: the README's bundled-data run must finish within 20 minutes on
2 cores, so training stops after 10 epochs (or earlier, by early stopping). Within such a budget the
settings of round 1 learn faster than the tuned defaults of ``fame-tf train``, which need 20–40
epochs (bench/results/tune-beauty.json): Beauty validation NDCG@10 after 10 epochs 0.0505 in the
pipeline (the README's pipeline section) against 0.0472 for the best FAME of the tuning search at
its tenth epoch. The pipeline keeps them, for both variants, with each head's score scaled by H
(logit_scale="heads", as in the tuned FAME). With the prefix training scheme 10 epochs take about
9 minutes of the Trainer's 12 (the README's pipeline table).

A module of its own so the command line can show these defaults without loading TFX."""

PIPELINE_DEFAULTS = {"epochs": 10, "learning_rate": 1e-3, "batch_size": 256, "dropout": 0.5, "attention_dropout": 0.5,
                     "weight_decay": 0.0, "warmup_steps": 0, "ffn_multiplier": 1, "num_heads": 4, "num_experts": 4,
                     "logit_scale": "heads", "patience": 10}
