"""fame-tf: FAME sequential recommendation on TensorFlow Recommenders, TFX and TF Serving.

Versions are pinned in constraints.txt: `pip install -c constraints.txt -e .`."""

from setuptools import find_packages, setup

setup(
    name="fame-tf",
    version="0.1.0",
    description="FAME (Facet-Aware Multi-Head Mixture-of-Experts) sequential recommendation on TensorFlow",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["fame_tf", "fame_tf.*", "pipeline", "pipeline.*", "serving", "serving.*",
                                    "fame_cli", "fame_cli.*"]),
    install_requires=[
        "tensorflow==2.16.*",
        "tf-keras==2.16.*",
        "tensorflow-recommenders==0.7.*",
        "tfx==1.16.*",
        "kfp-pipeline-spec==0.2.*",  # the Vertex AI pipeline compiler (KubeflowV2DagRunner)
        "tensorflow-serving-api==2.16.*",
        "numpy<2",
        "click>=8",
        "requests>=2",
        "matplotlib>=3.8",  # fame-tf report
        # fame_tf.retrieval's approximate index; 1.3 is the last release built for TensorFlow 2.16.
        "scann==1.3.*; platform_system == 'Linux' and platform_machine == 'x86_64'",
    ],
    extras_require={"test": ["pytest>=7", "pytest-xdist>=3"]},
    entry_points={"console_scripts": ["fame-tf=fame_cli:main"]},
    classifiers=["Programming Language :: Python :: 3.10", "Topic :: Scientific/Engineering :: Artificial Intelligence"],
)
