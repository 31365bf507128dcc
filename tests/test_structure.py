"""How the package hangs together: inference imports no corpus builder, evaluation or training
code, the two pipelines do not import each other, and --help imports no torch."""

import subprocess
import sys

import pytest


def imported_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", ["latentaudio.pipeline", "latentaudio.tokens.pipeline",
                                    "latentaudio.editing", "latentaudio.render",
                                    "latentaudio.generation"])
def test_inference_imports_no_corpus_evaluation_or_training_code(module):
    modules = imported_after(f"import {module}")
    leaked = sorted(m for m in modules if m.startswith(
        ("latentaudio.data", "latentaudio.evaluation", "latentaudio.train")))
    assert leaked == []


def test_the_two_pipelines_do_not_import_each_other():
    assert "latentaudio.pipeline" not in imported_after("import latentaudio.tokens.pipeline")
    assert "latentaudio.tokens.pipeline" not in imported_after("import latentaudio.pipeline")


def test_help_imports_no_torch():
    modules = imported_after("from latentaudio import cli\n"
                             "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass")
    assert "torch" not in modules and "diffusers" not in modules
