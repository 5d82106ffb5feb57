"""The dependency direction of the packages: fame_tf is the library; pipeline and serving build on
it, and the command line (fame_cli) sits on top of all three."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = {"fame_tf": {"pipeline", "serving", "fame_cli"}, "serving": {"pipeline", "fame_cli"},
             "pipeline": {"serving", "fame_cli"}}


def imported_packages(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_packages_import_only_downwards(package):
    offenders = {f"{path.relative_to(ROOT)} imports {name}"
                 for path in (ROOT / package).rglob("*.py")
                 for name in imported_packages(path) if name in FORBIDDEN[package]}
    assert not offenders, sorted(offenders)


TENSORFLOW = {"tensorflow", "tf_keras"}


def test_only_the_backend_imports_tensorflow():
    """fame_tf.backend sets the Keras switch before TensorFlow loads; any other import of TensorFlow
    could load it first, without the switch."""
    offenders = {f"{path.relative_to(ROOT)} imports {name}"
                 for package in ("fame_tf", "fame_cli", "pipeline", "serving")
                 for path in (ROOT / package).rglob("*.py") if path != ROOT / "fame_tf" / "backend.py"
                 for name in imported_packages(path) if name in TENSORFLOW}
    assert not offenders, sorted(offenders)
