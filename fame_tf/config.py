"""Validated, JSON-round-trippable configuration of a FAME / SASRec model and its training.

The config travels as JSON (CLI output directories, TFX ``custom_config``), so every field is a
plain scalar and ``from_dict`` rejects unknown keys instead of silently ignoring a typo.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Dict

from fame_tf.presets import variant_defaults
from fame_tf.protocols import PROTOCOLS

VARIANTS = ("fame", "sasrec")
OBJECTIVES = ("full_softmax", "sampled_softmax")
FUSIONS = ("logit", "mixture")
GATES = ("learned", "uniform")
ITEM_PROJECTIONS = ("learned", "identity")
HEAD_RESIDUALS = ("slice", "none")
LOGIT_SCALES = ("none", "heads")
ACTIVATIONS = ("gelu", "relu")
TRAINING_SCHEMES = ("prefix", "every_position")
NORM_PLACEMENTS = ("post", "pre")
SELECTION_PROTOCOLS = PROTOCOLS
TRAIN_NEGATIVES = ("all", "exclude_history")
# Every field with a fixed set of values, and the set: validation and the command line read it.
CHOICES = {
    "variant": VARIANTS,
    "objective": OBJECTIVES,
    "fusion": FUSIONS,
    "gate": GATES,
    "item_projection": ITEM_PROJECTIONS,
    "head_residual": HEAD_RESIDUALS,
    "logit_scale": LOGIT_SCALES,
    "activation": ACTIVATIONS,
    "training_scheme": TRAINING_SCHEMES,
    "norm_placement": NORM_PLACEMENTS,
    "selection_protocol": SELECTION_PROTOCOLS,
    "train_negatives": TRAIN_NEGATIVES,
}


# What each field does: the command line's option help and the docs' options table.
HELP = {
    "num_items": "Catalogue size without padding; set from the data.",
    "variant": "fame: the facet-aware last layer; sasrec: a standard transformer block there (the paper's baseline).",
    "hidden_size": "d, the width of item embeddings and hidden states.",
    "num_heads": "H: attention heads, and FAME's facets (each e = d / H wide).",
    "num_experts": "N: query projections (experts) per head in FAME's last layer, mixed by a router; 1: no MoE.",
    "num_layers": "Transformer blocks; in FAME the last one is facet-aware.",
    "max_len": "Most recent items of a history the model reads.",
    "ffn_multiplier": "Inner width of the backbone blocks' feed-forward nets, in units of d.",
    "facet_ffn_multiplier": "Inner width of FAME's per-head feed-forward net, in units of d / H.",
    "ffn_inner_dropout": "Dropout also after the feed-forward activation (SASRec's block), not only after its output.",
    "activation": "Feed-forward activation.",
    "norm_placement": "LayerNorm after each residual sum (post) or on each sub-layer's input (pre).",
    "dropout": "Dropout of embeddings and sub-layer outputs.",
    "attention_dropout": "Dropout of attention weights.",
    "objective": "full_softmax: cross-entropy over the whole catalogue; sampled_softmax: in-batch negatives with "
                 "log-Q correction (large catalogues).",
    "fusion": "How FAME fuses its heads: logit (gate-weighted sum of head scores, an inner product) or mixture "
              "(gate-weighted mixture of per-head softmaxes).",
    "gate": "learned: FAME's gate over heads per user; uniform: 1/H (ablation).",
    "item_projection": "learned: FAME's per-head item projections W_f (starting at the identity); identity: W_f = I "
                       "(ablation).",
    "head_residual": "Each FAME head's residual is its e-slice of the input (slice) or nothing (none).",
    "logit_scale": "heads: every head's score times H before fusion, so FAME's softmax starts as sharp as SASRec's; "
                   "none: the paper's scale.",
    "expert_init_std": "Scale of the truncated-normal start of FAME's last-layer query projections.",
    "training_scheme": "prefix: one example per prefix of a user's training items; every_position: SASRec's loss "
                       "at every position of one sequence per user.",
    "train_negatives": "exclude_history: the user's other history items (the model's input) are no negatives of the "
                       "training softmax (the target stays, also as a repeat); all: every item is.",
    "head_loss_weight": "> 0: each FAME head's own softmax cross-entropy, weighted, beside the fused one.",
    "attribute_loss_weight": "> 0: each head's view of a target item (SASRec: the whole item vector) predicts the "
                             "item's attributes, weighted, beside the next-item loss; needs --attributes.",
    "num_attributes": "Attribute ids without padding; set from the data when attribute_loss_weight > 0.",
    "length_buckets": "Batch examples of similar length together (much less padding).",
    "learning_rate": "Peak learning rate of Adam/AdamW.",
    "weight_decay": "> 0: AdamW with this decoupled weight decay; 0: Adam.",
    "warmup_steps": "Linear learning-rate warm-up over this many steps, then constant.",
    "batch_size": "Training examples per batch.",
    "epochs": "A cap; early stopping ends a run first.",
    "steps_per_epoch": "> 0: an epoch is this many batches (the data repeats); 0: one pass over the data.",
    "patience": "Evaluations without a better validation NDCG@10 before training stops.",
    "eval_every": "Epochs between validation evaluations.",
    "selection_protocol": "The ranking protocol whose validation NDCG@10 selects the best epoch.",
    "seed": "Seed of weights, dropout and shuffling.",
    "jit_compile": "Compile the training step with XLA.",
}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field and what is allowed."""


@dataclasses.dataclass(frozen=True)
class FameConfig:
    """Hyper-parameters of the model (architecture, objective) and of its training.

    ``variant="sasrec"`` replaces the facet-aware last layer by a standard transformer block (the
    paper's baseline). The FAME ablations are plain fields: ``num_experts=1`` (no MoE),
    ``gate="uniform"`` and ``item_projection="identity"`` (W_f = I).

    ``logit_scale="heads"`` multiplies every head's score by H before the fusion. The paper's
    fused score is a gate-weighted mean of e-dimensional inner products, about 1/H of the scale of
    SASRec's d-dimensional one at the start of training, so the softmax starts H times flatter
    and the model spends its first epochs growing its norms; the scale removes that handicap
    without changing what the model can express.

    The defaults are the ``fame`` preset (``fame_tf.presets``: the best FAME of the tuning search);
    ``for_variant("sasrec")`` starts from the ``sasrec`` preset instead. ``HELP`` says what each
    field does (the command line's help and the docs' options table show it).
    """

    num_items: int = 0
    variant: str = "fame"
    hidden_size: int = 64
    num_heads: int = 2
    num_experts: int = 2
    num_layers: int = 2
    max_len: int = 50
    ffn_multiplier: int = 1
    facet_ffn_multiplier: int = 1
    ffn_inner_dropout: bool = True
    activation: str = "gelu"
    norm_placement: str = "post"
    dropout: float = 0.6
    attention_dropout: float = 0.6
    objective: str = "full_softmax"
    fusion: str = "logit"
    gate: str = "learned"
    item_projection: str = "learned"
    head_residual: str = "slice"
    logit_scale: str = "heads"
    expert_init_std: float = 0.02
    training_scheme: str = "prefix"
    train_negatives: str = "all"
    head_loss_weight: float = 0.0
    attribute_loss_weight: float = 0.0
    num_attributes: int = 0
    length_buckets: bool = True
    learning_rate: float = 5e-4
    weight_decay: float = 0.1
    warmup_steps: int = 0
    batch_size: int = 128
    epochs: int = 200
    steps_per_epoch: int = 0
    patience: int = 10
    eval_every: int = 1
    selection_protocol: str = "seen_kept"
    seed: int = 42
    jit_compile: bool = False

    def __post_init__(self):
        self.validate()

    # -- validation -----------------------------------------------------------------------------
    def validate(self) -> None:
        for name, allowed in CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(f"{name}={value!r} is not allowed; choose one of {list(allowed)}")
        for name, low in (
            ("num_items", 0),
            ("num_attributes", 0),
            ("hidden_size", 1),
            ("num_heads", 1),
            ("num_experts", 1),
            ("num_layers", 1),
            ("max_len", 1),
            ("ffn_multiplier", 1),
            ("facet_ffn_multiplier", 1),
            ("warmup_steps", 0),
            ("batch_size", 1),
            ("epochs", 1),
            ("steps_per_epoch", 0),
            ("patience", 1),
            ("eval_every", 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"{name}={value!r} is not allowed; it must be an integer >= {low}")
        if isinstance(self.expert_init_std, bool) or not isinstance(self.expert_init_std, (int, float)) \
                or not 0 < self.expert_init_std < math.inf:
            raise ConfigError(f"expert_init_std={self.expert_init_std!r} is not allowed; it must be > 0")
        for name in ("dropout", "attention_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ConfigError(f"{name}={value!r} is not allowed; it must be in [0, 1)")
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ConfigError(f"learning_rate={self.learning_rate!r} is not allowed; it must be > 0")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) or self.weight_decay < 0:
            raise ConfigError(f"weight_decay={self.weight_decay!r} is not allowed; it must be >= 0")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"seed={self.seed!r} is not allowed; it must be an integer")
        for name in ("jit_compile", "length_buckets", "ffn_inner_dropout"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name}={getattr(self, name)!r} is not allowed; use true or false")
        if self.hidden_size % self.num_heads:
            raise ConfigError(
                f"hidden_size={self.hidden_size} is not allowed with num_heads={self.num_heads}; "
                "hidden_size must be divisible by num_heads"
            )
        for name in ("head_loss_weight", "attribute_loss_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"{name}={value!r} is not allowed; it must be >= 0")
        if self.head_loss_weight and (self.variant != "fame" or self.objective != "full_softmax"):
            raise ConfigError("head_loss_weight > 0 needs variant='fame' (heads with their own scores) and "
                              "objective='full_softmax'")
        if self.train_negatives == "exclude_history" and (
                self.objective, self.fusion, self.training_scheme) != ("full_softmax", "logit", "prefix"):
            raise ConfigError("train_negatives='exclude_history' needs objective='full_softmax', fusion='logit' and "
                              "training_scheme='prefix' (one history per example)")
        if self.fusion == "mixture" and self.objective != "full_softmax":
            raise ConfigError(
                "fusion='mixture' is not allowed with objective="
                f"{self.objective!r}; a mixture of per-head softmaxes needs objective='full_softmax'"
            )

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    # -- (de)serialisation ----------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def for_variant(cls, variant: str, **changes: Any) -> "FameConfig":
        """The defaults of ``variant`` (its best settings in the tuning search), then ``changes``."""
        return cls(**{**variant_defaults(variant), "variant": variant, **changes})

    @classmethod
    def from_dict(cls, values: Dict[str, Any]) -> "FameConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config field(s) {unknown}; known fields are {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> "FameConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> "FameConfig":
        return dataclasses.replace(self, **changes)
