"""Third-party stages through entry points, and `benchsmith stages`.

The plugin distribution is really pip-installed into this environment (and uninstalled at
the end of the module); the CLI runs in fresh processes, as a user's would, so entry points
are discovered the way they are in production. The broken plugin is never installed: its
`.dist-info` sits in a temporary folder put on PYTHONPATH of the processes that need it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchsmith.errors import PluginError, UnknownNameError
from benchsmith.registry import Registry
from benchsmith.stages import Verifier

PLUGIN_DIST = "bs-shout-plugin"

PLUGIN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "bs-shout-plugin"
version = "0.1.0"
requires-python = ">=3.11"

[project.entry-points."benchsmith.verifiers"]
shout = "bs_shout_plugin:Shout"

[tool.setuptools]
py-modules = ["bs_shout_plugin"]
"""

PLUGIN_MODULE = '''\
"""A third-party verifier module, as a plugin distribution writes it."""

from pydantic import Field

from benchsmith.stages import ItemVerifier, StageConfig, Verifier, verifiers


class ShoutConfig(StageConfig):
    max_caps_ratio: float = Field(default=0.5, ge=0, le=1, description="Largest share of upper-case letters.")


class Shout(ItemVerifier):
    """Drops prompts that are mostly upper case.

    No decorator: the registry registers it under its entry point's name.
    """

    Config = ShoutConfig

    def check(self, item, ctx):
        letters = [c for c in item.prompt if c.isalpha()] or ["a"]
        ratio = sum(c.isupper() for c in letters) / len(letters)
        return self.verdict(ratio <= self.config.max_caps_ratio, score=ratio, reason="shouting")


@verifiers.register("whisper")
class Whisper(Verifier):
    """Drops every prompt without a single upper-case letter."""

    scope = "set"

    async def verify(self, items, ctx):
        return [self.verdict(any(c.isupper() for c in item.prompt), reason="whispering") for item in items]
'''


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def shout_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`bs-shout-plugin` pip-installed into this environment for the module's tests; uninstalled after."""
    src = tmp_path_factory.mktemp("bs-shout-plugin")
    (src / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (src / "bs_shout_plugin.py").write_text(PLUGIN_MODULE)
    done = _pip("install", "--no-deps", "--no-build-isolation", "--force-reinstall", "--no-input",
                "--disable-pip-version-check", str(src))
    try:
        assert done.returncode == 0, f"pip install of the test plugin failed:\n{done.stdout}\n{done.stderr}"
        yield PLUGIN_DIST
    finally:
        gone = _pip("uninstall", "-y", "--disable-pip-version-check", PLUGIN_DIST)
        assert gone.returncode == 0, f"pip uninstall of the test plugin failed:\n{gone.stdout}\n{gone.stderr}"


def cli(*args: str, cwd: Path, extra_path: Path | None = None, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """`benchsmith ARGS` in a fresh process (entry points are read at its first stage lookup)."""
    env = {**os.environ, **env_vars}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run([sys.executable, "-m", "benchsmith", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def write_spec(folder: Path, verifiers: list[dict[str, Any]]) -> Path:
    """A minimal seeds-based spec (no LLM is contacted by `validate`)."""
    (folder / "seeds.jsonl").write_text("".join(json.dumps({"id": f"s{i}", "prompt": p}) + "\n" for i, p in
                                                enumerate(["What is 2 + 2, and why?", "Name three prime numbers."])))
    spec = {"suite": "plugin-check", "seeds": {"path": "seeds.jsonl"}, "target_items": 2,
            "generators": [{"name": "evolve"}], "verifiers": verifiers}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def stages_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"`stages --json` printed no JSON (rc {result.returncode}):\n{result.stdout}\n{result.stderr}")


def by_name(listing: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in listing["stages"]}


# --- the installed plugin, through the CLI ---------------------------------------------------


def test_stages_json_lists_the_plugin_with_its_parameters(shout_plugin: str, tmp_path: Path) -> None:
    result = cli("stages", "--json", cwd=tmp_path)
    listing = stages_json(result)
    assert result.returncode == 0, result.stderr
    stages = by_name(listing)

    shout = stages["shout"]
    assert shout["kind"] == "verifier" and shout["scope"] == "item"
    assert shout["summary"] == "Drops prompts that are mostly upper case."
    assert shout["builtin"] is False
    assert shout["distribution"] == shout_plugin and shout["version"] == "0.1.0"
    assert shout["entry_point"] == "shout = bs_shout_plugin:Shout"
    assert shout["class"] == "bs_shout_plugin.Shout"
    assert shout["parameters"] == [{"name": "max_caps_ratio", "type": "float", "required": False, "default": 0.5,
                                    "description": "Largest share of upper-case letters."}]

    # Registered by its decorator while the entry point's module was imported: same distribution.
    whisper = stages["whisper"]
    assert whisper["scope"] == "set" and whisper["distribution"] == shout_plugin and whisper["parameters"] == []

    # The built-ins are still there, as built-ins, with their parameters.
    rules = stages["rules"]
    assert rules["builtin"] is True and rules["source"] == "built-in" and rules["distribution"] is None
    assert {"name": "min_prompt_chars", "type": "int", "required": False, "default": 15,
            "description": "Prompts shorter than this (stripped) are 'too_short'."} in rules["parameters"]
    assert stages["evolve"]["kind"] == "generator" and stages["evolve"]["scope"] is None
    assert not [e for e in listing["plugin_errors"] if e["distribution"] == shout_plugin]


def test_stages_table_shows_the_plugin(shout_plugin: str, tmp_path: Path) -> None:
    result = cli("stages", "shout", cwd=tmp_path, COLUMNS="200")  # wide enough that rich wraps no cell
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for expected in ("shout", "verifier (item)", f"{shout_plugin} 0.1.0", "Drops prompts that are mostly upper case.",
                     "max_caps_ratio", "float", "0.5"):
        assert expected in text, f"{expected!r} missing from:\n{result.stdout}"
    assert "rules" not in text  # only the stage asked for

    unknown = cli("stages", "shuot", cwd=tmp_path)
    assert unknown.returncode == 2 and "Did you mean 'shout'?" in unknown.stderr, unknown.stderr


def test_validate_accepts_a_spec_naming_the_plugin(shout_plugin: str, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "rules"}, {"name": "shout", "params": {"max_caps_ratio": 0.3}}])
    result = cli("validate", str(spec), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "shout" in result.stdout

    # The plugin's Config validates the spec's params like a built-in's does.
    bad = write_spec(tmp_path, [{"name": "shout", "params": {"max_caps_ratio": 3, "loudness": 11}}])
    result = cli("validate", str(bad), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "verifiers" in result.stderr and "max_caps_ratio" in result.stderr and "loudness" in result.stderr
    assert "Traceback" not in result.stderr


def test_stages_does_not_load_models(shout_plugin: str, tmp_path: Path) -> None:
    """`stages` only imports the stage modules: no torch, no embedding model, no llama.cpp, no Prefect."""
    code = textwrap.dedent("""
        import sys
        from benchsmith.cli import app
        try:
            app(["stages", "--json"])
        except SystemExit as e:
            assert not e.code, e.code
        heavy = [m for m in ("torch", "sentence_transformers", "llama_cpp", "prefect", "faiss") if m in sys.modules]
        sys.stderr.write(f"HEAVY={heavy}")
        """)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=[]" in result.stderr, result.stderr
    assert "shout" in by_name(stages_json(result))


# --- a plugin whose module fails to import -----------------------------------------------


def fake_distribution(folder: Path, dist: str, group: str, entry_points: dict[str, str],
                      modules: dict[str, str]) -> Path:
    """An installed-looking distribution in `folder`: its modules and a `.dist-info` with entry points."""
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / f"{dist.replace('-', '_')}-0.2.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.2.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(source)
    return folder


@pytest.fixture
def broken_plugin(tmp_path: Path) -> Path:
    return fake_distribution(tmp_path / "site", "bs-broken-plugin", "benchsmith.verifiers",
                             {"broken": "bs_broken_plugin:Broken"},
                             {"bs_broken_plugin": "import bs_missing_dependency_xyz  # not installed anywhere\n"})


def test_broken_plugin_is_a_clear_error(broken_plugin: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "broken"}])
    result = cli("validate", str(spec), cwd=tmp_path, extra_path=broken_plugin)
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr
    assert "Traceback" not in err, err
    for expected in ("'broken'", "bs_broken_plugin:Broken", "bs-broken-plugin", "benchsmith.verifiers",
                     "ModuleNotFoundError", "bs_missing_dependency_xyz"):
        assert expected in err, f"{expected!r} missing from:\n{err}"


def test_broken_plugin_leaves_other_stages_usable(broken_plugin: Path, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, [{"name": "rules"}])
    result = cli("validate", str(spec), cwd=tmp_path, extra_path=broken_plugin)
    assert result.returncode == 0, result.stdout + result.stderr

    result = cli("stages", "--json", cwd=tmp_path, extra_path=broken_plugin)
    assert result.returncode == 1, "a broken plugin makes `stages` fail, after listing the rest"
    listing = stages_json(result)
    assert "rules" in by_name(listing) and "broken" not in by_name(listing)
    [error] = [e for e in listing["plugin_errors"] if e["entry_point"] == "broken"]
    assert error["distribution"] == "bs-broken-plugin" and error["group"] == "benchsmith.verifiers"
    assert "bs_missing_dependency_xyz" in error["error"]
    assert "bs-broken-plugin" in result.stderr and "Traceback" not in result.stderr


# --- the registry itself, in process (a private entry-point group) -----------------------


GROUP = "benchsmith-test.plugins"

STAGE_SOURCE = '''\
from benchsmith.stages import Verifier


class {cls}(Verifier):
    """A test stage."""

    async def verify(self, items, ctx):
        return [self.verdict(True) for _ in items]
'''


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for fake distributions; the modules they define are forgotten afterwards."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for name in set(sys.modules) - before:
        if name.startswith("bs_test_"):
            del sys.modules[name]


def registry() -> Registry[Verifier]:
    return Registry("verifier", entry_point_group=GROUP, base=Verifier)


def test_registry_registers_entry_point_classes(plugin_site: Path) -> None:
    fake_distribution(plugin_site, "bs-test-good", GROUP, {"tidy": "bs_test_good:Tidy", "mod": "bs_test_mod"},
                      {"bs_test_good": STAGE_SOURCE.format(cls="Tidy"),
                       "bs_test_mod": "import bs_test_good\n"})
    reg = registry()
    assert reg.names() == ["tidy"]
    cls = reg.get("tidy")
    assert cls.__name__ == "Tidy" and cls.name == "tidy"
    origin = reg.origin("tidy")
    assert origin.distribution == "bs-test-good" and origin.version == "0.2.0" and not origin.builtin
    assert reg.plugin_errors == []


def test_registry_reports_an_entry_point_that_is_not_a_stage(plugin_site: Path) -> None:
    fake_distribution(plugin_site, "bs-test-odd", GROUP, {"odd": "bs_test_odd:NotAStage"},
                      {"bs_test_odd": "class NotAStage:\n    pass\n"})
    reg = registry()
    with pytest.raises(PluginError, match=r"bs-test-odd.*is not a Verifier subclass"):
        reg.get("odd")
    assert "odd" not in reg


def test_registry_reports_import_failure_and_name_clash(plugin_site: Path) -> None:
    fake_distribution(plugin_site, "bs-test-bad", GROUP,
                      {"bad": "bs_test_bad:Bad", "clash": "bs_test_clash:Clash", "fine": "bs_test_fine:Fine"},
                      {"bs_test_bad": STAGE_SOURCE.format(cls="Bad") + "\nraise RuntimeError('boom at import')\n",
                       "bs_test_clash": STAGE_SOURCE.format(cls="Clash"),
                       "bs_test_fine": STAGE_SOURCE.format(cls="Fine")})
    reg = registry()

    @reg.register("clash")
    class Existing(Verifier):
        async def verify(self, items, ctx):  # pragma: no cover
            return []

    assert reg.names() == ["clash", "fine"]  # the good plugin loads; the broken ones do not block it
    assert reg.get("clash") is Existing and reg.origin("clash").module == __name__

    with pytest.raises(PluginError) as info:
        reg.get("bad")
    err = info.value
    assert err.entry_point == "bad" and err.distribution == "bs-test-bad" and err.group == GROUP
    assert "RuntimeError: boom at import" in str(err) and "bs_test_bad:Bad" in str(err)
    assert isinstance(err.__cause__, RuntimeError)

    [clash] = [e for e in reg.plugin_errors if e.entry_point == "clash"]
    assert "registered twice" in str(clash)

    with pytest.raises(UnknownNameError, match=r"(?s)Known verifiers: clash, fine.*boom at import"):
        reg.get("nope")


def test_plugin_stage_runs_through_the_base_class_loop(shout_plugin: str, tmp_path: Path) -> None:
    # The plugin only writes `check`; the base class runs it, counts its drops and reports progress.
    script = '''
import asyncio, json
from benchsmith.context import StageContext
from benchsmith.pipeline import run_stages
from benchsmith.records import Item, Lineage
from benchsmith.stages import verifiers
stage = verifiers.get("shout")({"max_caps_ratio": 0.3})
items = [Item.create(prompt=p, reference_answer="x", lineage=Lineage(generator="t"))
         for p in ["WHAT IS TWO PLUS TWO?", "What is two plus two?"]]
seen = []
out = asyncio.run(run_stages([stage], items, StageContext(progress=lambda s, n: seen.append((s, n)))))
print(json.dumps({"passed": [it.passed for it in out], "reasons": [it.verdicts[0].reason for it in out],
                  "drops": dict(stage.drops), "done": sum(n for _, n in seen)}))
'''
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {"passed": [False, True], "reasons": ["shouting", None], "drops": {"shouting": 1}, "done": 2}
