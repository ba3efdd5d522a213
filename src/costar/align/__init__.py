"""Align: the judge loop. The golden set of human labels, agreement between judges and humans,
alignment of LLM judges (MLflow's MemAlign, GEPA, SIMBA) and what to label next."""

from costar.align._agreement import (
    Agreement,
    Pair,
    agreement,
    cohen_kappa,
    kappa_interval,
    spearman,
)
from costar.align._align import AlignResult, align_judge
from costar.align._config import AlignConfig
from costar.align._golden import (
    Consensus,
    GoldenSet,
    Label,
    consensus,
    export_labels,
    import_labels,
    parse_value,
)
from costar.align._measure import GoldenReport, label_judges, measure
from costar.align._mlflow import OPTIMIZERS, AlignError
from costar.align._suggest import suggest

__all__ = [
    "OPTIMIZERS",
    "Agreement",
    "AlignConfig",
    "AlignError",
    "AlignResult",
    "Consensus",
    "GoldenReport",
    "GoldenSet",
    "Label",
    "Pair",
    "agreement",
    "align_judge",
    "cohen_kappa",
    "consensus",
    "export_labels",
    "import_labels",
    "kappa_interval",
    "label_judges",
    "measure",
    "parse_value",
    "spearman",
    "suggest",
]
