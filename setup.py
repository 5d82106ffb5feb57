"""fame-tf: FAME sequential recommendation on TensorFlow Recommenders, TFX and TF Serving.

``pip install fame-tf`` is the runtime an app needs (load an export with Keras 3, the REST client):
TensorFlow and Keras only, any Python that TensorFlow supports. Training, the TFX pipeline, the local
server, plots and ScaNN are extras; the tested versions of all of them are pinned in constraints.txt
(Python 3.10, because TFX 1.16 is): ``pip install -c constraints.txt -e ".[all]"``."""

from setuptools import find_packages, setup

TRAIN = [
    "tf-keras>=2.16",  # TFRS 0.7 and TensorFlow Transform 1.16 need Keras 2
    "tensorflow-recommenders==0.7.*",
    "click>=8",
]
EXTRAS = {
    "train": TRAIN,
    "pipeline": TRAIN + [
        "tfx==1.16.*",
        "kfp-pipeline-spec==0.2.*",  # the Vertex AI pipeline compiler (KubeflowV2DagRunner)
    ],
    "serve": TRAIN,  # the local TF-Serving-REST-compatible server loads the SavedModel with tf-keras
    "plots": ["matplotlib>=3.8"],  # fame-tf report
    # fame_tf.retrieval's approximate index; 1.3 is the last release built for TensorFlow 2.16.
    "scann": ["scann==1.3.*; platform_system == 'Linux' and platform_machine == 'x86_64'"],
    "test": ["pytest>=7", "pytest-xdist>=3"],
}
EXTRAS["all"] = sorted({r for name, reqs in EXTRAS.items() if name != "test" for r in reqs})

setup(
    name="fame-tf",
    version="0.1.0",
    description="FAME (Facet-Aware Multi-Head Mixture-of-Experts) sequential recommendation on TensorFlow",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["fame_tf", "fame_tf.*", "pipeline", "pipeline.*", "serving", "serving.*",
                                    "fame_cli", "fame_cli.*"]),
    package_data={"pipeline": ["schemas/*.pbtxt"]},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3",
        "numpy",
        "requests>=2",  # serving.client
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["fame-tf=fame_cli:main"]},
    classifiers=["Programming Language :: Python :: 3.10", "Programming Language :: Python :: 3.11",
                 "Programming Language :: Python :: 3.12", "Programming Language :: Python :: 3.13",
                 "Topic :: Scientific/Engineering :: Artificial Intelligence"],
)
