"""Installing eli5-keras keeps the TensorFlow build a machine has.

TensorFlow's builds are distributions with different names (``tensorflow``, the GPU-capable
one; ``tensorflow-cpu``) that share one ``tensorflow`` package folder, and pip counts only a
distribution of the very name required as satisfying a requirement. These tests ask pip
itself what it would install: this checkout's ``setup.py`` metadata (built by setuptools, as
``pip install`` builds it) goes into a wheel beside stand-in wheels, empty but for their
metadata, of every distribution it names; pip resolves against them alone (``--no-index``,
no configuration: offline) for a fresh virtual environment that holds a stand-in TensorFlow
build or none. Markers of the platforms this machine is not are read with ``packaging``.
"""
import base64
import csv
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
TF_VERSION = "2.21.0"
TF_BUILDS = ("tensorflow", "tensorflow-cpu")

# (platform_system, platform_machine, sys_platform) -> the build that [cpu] brings there:
# tensorflow-cpu where TensorFlow publishes it, tensorflow (CPU-only there) elsewhere.
PLATFORMS = {
    ("Linux", "x86_64", "linux"): "tensorflow-cpu",
    ("Windows", "AMD64", "win32"): "tensorflow-cpu",
    ("Linux", "aarch64", "linux"): "tensorflow",
    ("Darwin", "arm64", "darwin"): "tensorflow",
    ("Darwin", "x86_64", "darwin"): "tensorflow",
}


def _wheel(folder: Path, name: str, version: str, metadata: str, files: dict = None) -> Path:
    """A pure-Python wheel of ``name`` with ``metadata`` (its METADATA text) and ``files``."""
    stem = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    contents = dict(files or {})
    contents[f"{info}/METADATA"] = metadata
    contents[f"{info}/WHEEL"] = "Wheel-Version: 1.0\nGenerator: eli5-keras-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, text in contents.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([path, f"sha256={digest}", len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    contents[f"{info}/RECORD"] = record.getvalue()
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in contents.items():
            archive.writestr(member, text)
    return path


def _stand_in_version(requirements) -> str:
    """A version satisfying every specifier in ``requirements`` (all of one name): the
    highest version the specifiers themselves name that does, else a high one."""
    specifiers = [r.specifier for r in requirements]
    named = sorted({Version(s.version) for spec in specifiers for s in spec}, reverse=True)
    for version in named + [Version("999")]:
        if all(spec.contains(version, prereleases=True) for spec in specifiers):
            return str(version)
    raise AssertionError(f"no stand-in version satisfies {specifiers}")


def _pip_env() -> dict:
    """pip with no configuration (no index, find-links or constraints from this machine),
    and the environment's interpreter seeing only its own site-packages."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


class Machine:
    """A fresh virtual environment (no pip of its own: this interpreter's pip drives it
    with ``--python``) that resolves against the stand-in wheels only."""

    def __init__(self, folder: Path, wheels: Path):
        self.folder, self.wheels = folder, wheels
        venv.create(folder, with_pip=False, symlinks=os.name != "nt")
        self.python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

    def pip(self, *args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "pip", "--python", str(self.python), *args]
        out = subprocess.run(command, capture_output=True, text=True, env=_pip_env(), cwd=self.folder,
                             timeout=120)
        assert out.returncode == 0, f"{' '.join(command)}\n{out.stdout}\n{out.stderr}"
        return out

    def install(self, *requirements: str) -> None:
        self.pip("install", "-q", "--no-index", "--find-links", str(self.wheels), *requirements)

    def would_install(self, requirement: str) -> dict:
        """{name: version} that ``pip install REQUIREMENT`` would install here."""
        report = self.folder / "report.json"
        self.pip("install", "-q", "--dry-run", "--report", str(report), "--no-index",
                 "--find-links", str(self.wheels), requirement)
        items = json.loads(report.read_text())["install"]
        return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"] for i in items}

    def installed(self) -> dict:
        listed = json.loads(self.pip("list", "--format", "json").stdout)
        return {canonicalize_name(d["name"]): d["version"] for d in listed}


@pytest.fixture(scope="module")
def metadata(tmp_path_factory) -> str:
    """The METADATA that ``pip install`` of this checkout gets from setuptools."""
    project = tmp_path_factory.mktemp("project")
    for name in ("setup.py", "README.md"):  # setup.py reads README.md; no package files needed
        shutil.copy(ROOT / name, project / name)
    (project / "meta").mkdir()
    code = "import sys, setuptools.build_meta as b; print(b.prepare_metadata_for_build_wheel(sys.argv[1]))"
    out = subprocess.run([sys.executable, "-c", code, str(project / "meta")], cwd=project,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (info,) = (project / "meta").glob("*.dist-info")
    return (info / "METADATA").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def requires(metadata) -> list:
    return [Requirement(line.split(":", 1)[1].strip())
            for line in metadata.splitlines() if line.startswith("Requires-Dist:")]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory, metadata, requires) -> Path:
    """This checkout's metadata as a wheel, and a stand-in for every distribution it names;
    the TensorFlow builds at 2.21.0, each with its ``tensorflow`` package folder, and
    ``tensorflow`` with its ``and-cuda`` extra (the CUDA libraries left out)."""
    folder = tmp_path_factory.mktemp("wheels")
    _wheel(folder, "eli5-keras", "0.1.0", metadata)
    by_name = {}
    for requirement in requires:
        by_name.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    for name, requirements in by_name.items():
        if name in TF_BUILDS:
            continue
        version = _stand_in_version(requirements)
        _wheel(folder, name, version, f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    for name in TF_BUILDS:
        extra = "Provides-Extra: and-cuda\n" if name == "tensorflow" else ""
        _wheel(folder, name, TF_VERSION,
               f"Metadata-Version: 2.1\nName: {name}\nVersion: {TF_VERSION}\n{extra}",
               {"tensorflow/__init__.py": f"__version__ = {TF_VERSION!r}  # {name} stand-in\n"})
    return folder


def _tf_named(requires, extra: str, system: str, machine: str, sys_platform: str) -> list:
    """The TensorFlow requirements (as text) that ``eli5-keras[extra]`` has on a platform."""
    env = dict(default_environment(), platform_system=system, platform_machine=machine,
               sys_platform=sys_platform, extra=extra)
    named = []
    for r in requires:
        if canonicalize_name(r.name) in TF_BUILDS and (r.marker is None or r.marker.evaluate(env)):
            named.append(canonicalize_name(r.name) + (f"[{','.join(sorted(r.extras))}]" if r.extras else ""))
    return sorted(named)


def test_installing_beside_a_gpu_build_keeps_it(tmp_path, wheels):
    machine = Machine(tmp_path / "gpu-box", wheels)
    machine.install(f"tensorflow=={TF_VERSION}")
    for requirement in ("eli5-keras", "eli5-keras[gpu]"):
        planned = machine.would_install(requirement)
        assert "eli5-keras" in planned
        assert "tensorflow-cpu" not in planned and "tensorflow" not in planned, (requirement, planned)
    machine.install("eli5-keras")
    installed = machine.installed()
    assert installed["tensorflow"] == TF_VERSION and "tensorflow-cpu" not in installed
    assert "eli5-keras" in installed


def test_installing_beside_a_cpu_build_keeps_it(tmp_path, wheels):
    machine = Machine(tmp_path / "cpu-box", wheels)
    machine.install(f"tensorflow-cpu=={TF_VERSION}")
    planned = machine.would_install("eli5-keras")
    assert "eli5-keras" in planned and not set(TF_BUILDS) & set(planned), planned


def test_a_machine_without_tensorflow_gets_the_build_its_extra_names(tmp_path, wheels):
    machine = Machine(tmp_path / "bare-box", wheels)
    # the README's commands: [cpu] brings exactly one build, the CPU one where it exists
    cpu = PLATFORMS.get((platform.system(), platform.machine(), sys.platform), "tensorflow")
    planned = machine.would_install("eli5-keras[cpu]")
    assert {n for n in TF_BUILDS if n in planned} == {cpu}, planned
    assert {n for n in TF_BUILDS if n in machine.would_install("eli5-keras[gpu]")} == {"tensorflow"}
    # plain: no TensorFlow at all (importing then says which command brings one)
    planned = machine.would_install("eli5-keras")
    assert "eli5-keras" in planned and not set(TF_BUILDS) & set(planned), planned


@pytest.mark.parametrize("where", sorted(PLATFORMS), ids="-".join)
def test_every_platform_gets_one_build_from_an_extra_and_none_without(requires, where):
    assert _tf_named(requires, "", *where) == []
    assert _tf_named(requires, "cpu", *where) == [PLATFORMS[where]]
    gpu = "tensorflow[and-cuda]" if where[0] == "Linux" else "tensorflow"
    assert _tf_named(requires, "gpu", *where) == [gpu]


def test_importing_without_tensorflow_says_how_to_install_it():
    hide = "import sys; sys.modules['tensorflow'] = None; "
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", hide + "import eli5_keras"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode != 0
    assert "ModuleNotFoundError: TensorFlow is not installed" in out.stderr
    assert "eli5-keras[cpu]" in out.stderr and "eli5-keras[gpu]" in out.stderr
    cli = hide + "import eli5_keras_cli; sys.exit(eli5_keras_cli.main(['methods']))"
    out = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("eli5-keras: error: TensorFlow is not installed") and out.stderr.count("\n") == 1
