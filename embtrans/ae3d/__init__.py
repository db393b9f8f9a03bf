"""Seeing a shared space in 3-D (issue 13): two populations with known pairs.

  data        the two populations: `load_populations` (pydocs summaries vs
              bodies, one encoder or one per population, e.g. E5 query vs
              passage)
  baselines   PCA(3), UMAP(3), PCA(50) -> UMAP(3) fitted on a population
  evaluation  `evaluate_projection`: every metric of one projection
  findings    the README's answers, computed from a table of results

The autoencoder itself is `embtrans.models.autoencoder` with the losses in
`embtrans.losses`; its training runs as a task on the engine. Interactive
pages: `embtrans.report.pages`.
"""
