"""Talk to the Hugging Face Hub: tokens, write access, repos, one-commit uploads, downloads.

Every failure becomes a PublishError with one sentence that says what to do. Nothing here runs at import.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tp.errors import PublishError


def resolve_token(token: str | None = None) -> str:
    """The token to use: the argument, else HF_TOKEN, else the saved `hf auth login` token."""
    from huggingface_hub import get_token

    token = token or os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise PublishError("No Hugging Face token: pass --token, set HF_TOKEN, or run `hf auth login` "
                           "with a token that has write access.")
    return token


def hub_error_message(error: Exception, what: str) -> str:
    """One sentence for a failed Hub call about `what` (a repo id)."""
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(error, ValueError) and "metadata" in str(error):  # the Hub's own card validator said no
        return f"The Hub rejected the model card metadata of {what}: {' '.join(str(error).split())}"
    if isinstance(error, OfflineModeIsEnabled):
        return f"HF_HUB_OFFLINE=1 is set, so {what} cannot be reached: unset it to publish."
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        status = error.response.status_code
        if status == 401:
            return "The Hub refused the token (401): it is invalid or expired; create a new one and log in again."
        if status == 403:
            return (f"The token may not write to {what} (403): the name may belong to another user or "
                    "organisation; use a token with write access to that namespace, or publish under your own name.")
        if status == 404:
            return f"{what} was not found (404): check the owner/name spelling, or let tp create it."
        if status == 409:
            return f"{what} conflicts with an existing repository or operation (409): pick another name or retry."
        return f"The Hub answered {status} for {what}: {str(error).splitlines()[0][:200]}"
    return (f"Could not reach the Hugging Face Hub for {what} ({type(error).__name__}): check your network "
            "connection or proxy, then try again.")


def token_can_write(token_info: dict[str, Any], namespace: str) -> bool:
    """Whether whoami's answer shows write access to `namespace` (classic write or fine-grained scope)."""
    access = (token_info.get("auth") or {}).get("accessToken") or {}
    role = access.get("role")
    if role in ("write", "admin") or role is None and token_info.get("type") == "user":
        return True  # role None: OAuth / older servers; the upload itself will say if it may not
    if role == "fineGrained":
        for scope in (access.get("fineGrained") or {}).get("scoped", []):
            entity = scope.get("entity", {}).get("name")
            if entity == namespace and "repo.write" in scope.get("permissions", []):
                return True
        return False
    return False


def check_write_access(api: Any, repo_id: str) -> str:
    """whoami, then check the token may write to the repo's namespace; returns the user name."""
    try:
        info = api.whoami()
    except Exception as error:
        raise PublishError(hub_error_message(error, repo_id)) from error
    namespace = repo_id.split("/")[0]
    if not token_can_write(info, namespace):
        role = ((info.get("auth") or {}).get("accessToken") or {}).get("role", "unknown")
        raise PublishError(f"The token of {info.get('name')} is {role} and cannot write to {namespace}: "
                           "create a token with write access (Settings > Access Tokens) and log in with it.")
    return info.get("name", "")


def publish(assemble: Callable[[Path], Any], repo_id: str, token: str | None, **upload_options: Any) -> str:
    """Check the token first, `assemble(folder)` the files into a scratch folder, upload them as one commit and
    remove the scratch folder whatever happens; returns the repo's URL (`upload_options` as for `upload`)."""
    token = resolve_token(token)  # before any heavy work: fail fast without a token
    staging = Path(tempfile.mkdtemp(prefix="tp-publish-"))
    try:
        assemble(staging / "repo")
        return upload(staging / "repo", repo_id, token, **upload_options)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def upload(folder: Path, repo_id: str, token: str, *, repo_type: str = "model", private: bool = False,
           revision: str | None = None, message: str = "Upload with tp", space_sdk: str | None = None) -> str:
    """Create the repo if needed (and the branch), then upload `folder` as one commit; returns its URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    check_write_access(api, repo_id)
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
        if revision:
            api.create_branch(repo_id, branch=revision, repo_type=repo_type, exist_ok=True)
        commit = api.upload_folder(repo_id=repo_id, folder_path=str(folder), repo_type=repo_type,
                                   revision=revision, commit_message=message)
    except Exception as error:
        raise PublishError(hub_error_message(error, repo_id)) from error
    return str(commit.commit_url)


def download(repo_id: str, local_dir: Path | None = None, revision: str | None = None,
             patterns: list[str] | None = None) -> Path:
    """snapshot_download with pinned revision and allow-patterns; a local_dir appears only when complete."""
    from huggingface_hub import constants, snapshot_download

    from tp.sources import MODEL_FILE_PATTERNS, hub_failure_message

    partial = local_dir.with_name(f".{local_dir.name}.partial") if local_dir else None
    try:
        folder = snapshot_download(repo_id, revision=revision, allow_patterns=patterns or MODEL_FILE_PATTERNS,
                                   local_dir=partial)
    except Exception as error:
        message = hub_failure_message(repo_id, error)
        raise PublishError(f"{message} (looked in {partial or constants.HF_HUB_CACHE})") from error
    if local_dir is None:
        return Path(folder)
    if local_dir.exists():
        shutil.rmtree(local_dir)
    shutil.rmtree(partial / ".cache", ignore_errors=True)  # download bookkeeping, not model files
    os.replace(partial, local_dir)
    return local_dir
