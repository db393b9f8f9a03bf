"""Metric kernels for comparing embedding spaces (pure JAX, jitted).

CKA: `linear_cka`, `rbf_cka`, `streaming_linear_cka`, `minibatch_cka`,
`stacked_cka`.
k-NN structure: `knn_indices`, `knn_jaccard`, `mutual_knn`,
`knn_rank_agreement`, `knn_edit_distance`, `knn_edit_similarity`,
`lcs_knn`, `cycle_knn`, `knn_agreement`.
platonic-rep's suite (Huh et al. 2024): `cknna`, `svcca`, `mutual_knn`,
`cycle_knn`, `lcs_knn`, `knn_edit_similarity`, linear CKA; its feature
preparation `prepare` / `clamp_outliers` and its `max_over_layer_pairs`.
Filtered search: `knn_search`. Retrieval: `recall_at_k`. Alignment:
`alignment_accuracy`.
Projections (e.g. to 3-D): `trustworthiness`, `continuity`,
`knn_preservation`, `similarity_spearman`, `cross_recall`, `population_gap`
(module `projection`).

Every public function validates its arguments on the host (shapes, paired
rows, k, NaN/inf; the finiteness check syncs with the device) and then runs
one compiled kernel per input shape. Plain NumPy references of all of them
live in `embtrans.references.numpy_metrics`.
"""

from embtrans.metrics.alignment import alignment_accuracy
from embtrans.metrics.cca import svcca
from embtrans.metrics.cka import linear_cka
from embtrans.metrics.cka import minibatch_cka
from embtrans.metrics.cka import rbf_cka
from embtrans.metrics.cka import stacked_cka
from embtrans.metrics.cka import streaming_linear_cka
from embtrans.metrics.knn import cycle_knn
from embtrans.metrics.knn import knn_agreement
from embtrans.metrics.knn import knn_edit_distance
from embtrans.metrics.knn import knn_edit_similarity
from embtrans.metrics.knn import knn_indices
from embtrans.metrics.knn import knn_jaccard
from embtrans.metrics.knn import knn_rank_agreement
from embtrans.metrics.knn import knn_search
from embtrans.metrics.knn import lcs_knn
from embtrans.metrics.knn import mutual_knn
from embtrans.metrics.knn_cka import cknna
from embtrans.metrics.layers import max_over_layer_pairs
from embtrans.metrics.preprocess import clamp_outliers
from embtrans.metrics.preprocess import prepare
from embtrans.metrics.projection import continuity
from embtrans.metrics.projection import cross_recall
from embtrans.metrics.projection import knn_preservation
from embtrans.metrics.projection import population_gap
from embtrans.metrics.projection import similarity_spearman
from embtrans.metrics.projection import trustworthiness
from embtrans.metrics.retrieval import recall_at_k

__all__ = [
    "alignment_accuracy",
    "cknna",
    "clamp_outliers",
    "continuity",
    "cross_recall",
    "cycle_knn",
    "knn_agreement",
    "knn_edit_distance",
    "knn_edit_similarity",
    "knn_indices",
    "knn_jaccard",
    "knn_preservation",
    "knn_rank_agreement",
    "knn_search",
    "lcs_knn",
    "linear_cka",
    "max_over_layer_pairs",
    "minibatch_cka",
    "mutual_knn",
    "population_gap",
    "prepare",
    "rbf_cka",
    "recall_at_k",
    "similarity_spearman",
    "stacked_cka",
    "streaming_linear_cka",
    "svcca",
    "trustworthiness",
]
