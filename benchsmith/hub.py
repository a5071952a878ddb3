"""Push a published version to a Hugging Face Hub dataset repository (`publish.hub`).

The version folder is the unit: one commit adds every file its manifest lists (and the
manifest) and deletes what an earlier version left that this one does not have (a dropped
split would otherwise still load), so the repository's `main` holds exactly the latest
version as `datasets.load_dataset` reads it, and a tag named after the version points at that
commit (`revision="2026.11"`); earlier versions stay reachable by their tags.
Nothing is pushed without a token in the environment variable the spec names. A push that
fails (no network, a refused token) is reported with what was tried; the local version is
published either way and is pushed later with `benchsmith push SUITE VERSION`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from benchsmith.errors import PublishError
from benchsmith.publish import read_manifest
from benchsmith.spec import HubSpec


@dataclass(frozen=True)
class HubCommit:
    """What a push sends: the files of one version as commit operations, and the tag it gets."""

    repo_id: str
    tag: str
    message: str
    operations: list[Any] = field(repr=False)
    """`huggingface_hub.CommitOperationAdd`, one per file, manifest.json last."""
    deletions: list[Any] = field(default_factory=list, repr=False)
    """`huggingface_hub.CommitOperationDelete`, one per file on the hub this version does not have."""

    @property
    def paths(self) -> list[str]:
        """The repository paths the commit writes."""
        return [op.path_in_repo for op in self.operations]

    @property
    def removed(self) -> list[str]:
        """The repository paths the commit deletes."""
        return [op.path_in_repo for op in self.deletions]

    def replacing(self, existing: Iterable[str]) -> HubCommit:
        """This commit, also deleting the files of `existing` (what `main` holds now) it does not write."""
        from huggingface_hub import CommitOperationDelete

        stale = sorted(set(existing) - set(self.paths) - _HUB_FILES)
        return replace(self, deletions=[CommitOperationDelete(path_in_repo=rel, is_folder=False)
                                                    for rel in stale])


@dataclass(frozen=True)
class HubPush:
    """What `push_version` did: 'pushed', 'skipped' (no token) or 'failed' (the hub said no, or was not there)."""

    status: Literal["pushed", "skipped", "failed"]
    message: str
    url: str | None = None


# Files the hub keeps in every repository itself; never deleted by a push.
_HUB_FILES = frozenset({".gitattributes"})


def hub_commit(version_dir: Path, hub: HubSpec, manifest: Mapping[str, Any] | None = None) -> HubCommit:
    """The commit that pushes the version in `version_dir`: every file its manifest lists, then the manifest.

    It deletes nothing until `HubCommit.replacing` is given what the repository holds.
    """
    from huggingface_hub import CommitOperationAdd

    manifest = manifest if manifest is not None else read_manifest(version_dir)
    if manifest is None:
        raise PublishError(f"{version_dir}: no readable manifest.json; only a published version can be pushed")
    listed = sorted((manifest.get("files") or {}).keys())
    missing = [rel for rel in listed if not (version_dir / rel).is_file()]
    if missing or not listed:
        raise PublishError(f"{version_dir}: cannot push, files of the manifest are missing: "
                           f"{', '.join(missing) or 'none listed'} (`benchsmith verify` says more)")
    ops = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=version_dir / rel)
           for rel in [*listed, "manifest.json"]]
    version = str(manifest.get("version") or version_dir.name)
    suite = str(manifest.get("suite") or version_dir.parent.name)
    return HubCommit(repo_id=hub.repo_id, tag=version, message=f"{suite} {version} (benchsmith)", operations=ops)


def hub_token(hub: HubSpec, env: Mapping[str, str] | None = None) -> str | None:
    """The token from the variable `hub.token_env` names (None when unset or empty)."""
    value = (env if env is not None else os.environ).get(hub.token_env, "").strip()
    return value or None


@contextlib.contextmanager
def _online() -> Iterator[None]:
    """huggingface_hub's offline mode off for the push's own requests.

    The embedder sets HF_HUB_OFFLINE=1 before it loads its local model (a run must never wait
    on DNS), and huggingface_hub reads the variable once, when first imported: after a run's
    dedup every hub request of the process would be refused. A configured `publish.hub` with
    a token is the explicit wish to reach the hub.
    """
    from huggingface_hub import constants

    was = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = False
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = was


def push_version(version_dir: Path, hub: HubSpec, *, env: Mapping[str, str] | None = None) -> HubPush:
    """Push one published version: create the dataset repository if needed, commit its files, tag the commit.

    Never raises for the hub's sake: no token gives 'skipped' (nothing is sent), a hub that
    cannot be reached or refuses gives 'failed' with the endpoint and the error; the version
    folder is untouched in every case.
    """
    token = hub_token(hub, env)
    if token is None:
        return HubPush("skipped", f"publish.hub: ${hub.token_env} is not set; {version_dir.name} was not pushed to "
                                  f"{hub.repo_id}")
    commit = hub_commit(version_dir, hub)  # a version that cannot be pushed fails here, before any request
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.endpoint, token=token, library_name="benchsmith")
    where = hub.endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    try:
        with _online():
            api.create_repo(hub.repo_id, repo_type="dataset", private=hub.private, exist_ok=True)
            existing = api.list_repo_files(hub.repo_id, repo_type="dataset")
            commit = commit.replacing(existing)
            info = api.create_commit(hub.repo_id, [*commit.deletions, *commit.operations],
                                     commit_message=commit.message, repo_type="dataset")
            api.create_tag(hub.repo_id, tag=commit.tag, revision=getattr(info, "oid", None), repo_type="dataset",
                           exist_ok=True)
    except Exception as err:  # noqa: BLE001 -- any failure of the hub leaves the local version as it is
        detail = f"{type(err).__name__}: {str(err).splitlines()[0][:300] if str(err) else ''}".rstrip(": ")
        return HubPush("failed", f"publish.hub: could not push {version_dir.name} to {hub.repo_id} at {where} "
                                 f"({detail}); the version is published locally at {version_dir}; push it again "
                                 f"with `benchsmith push {version_dir.parent.name} {version_dir.name}`")
    url = f"{where.rstrip('/')}/datasets/{hub.repo_id}/tree/{commit.tag}"
    removed = f", removing {len(commit.removed)} file(s) the earlier version had" if commit.removed else ""
    return HubPush("pushed", f"pushed {version_dir.name} to {hub.repo_id} (tag {commit.tag}){removed}", url)
