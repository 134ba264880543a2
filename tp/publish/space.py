"""Assemble a self-contained Hugging Face Space folder that runs tp's own app.py, and upload it.

The folder holds app.py, the tp package, the runtime requirements, the Vue client's sources (built
in the Dockerfile's Node stage), the model (a run folder copied under models/, adapter only when it
has one) or a Hub id to download at start, and the Space's README (front matter) and Dockerfile from
space/. Docker rather than the gradio SDK: one FastAPI process must serve the REST API, the Gradio
demo and the built Vue client, and the gradio SDK neither runs a Node build nor serves a plain
FastAPI app as its entry point.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from tp.errors import PublishError

DEV_ONLY = re.compile(r"^(pytest|pytest-timeout|ruff|schemathesis|hypothesis)\b")  # not needed at run time
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "dist", ".vite", "screenshots")
RUN_FOLDER_SKIP = shutil.ignore_patterns("variants", "eval", "checkpoints", "__pycache__")


def runtime_requirements(text: str) -> str:
    """requirements.txt without the test and lint tools."""
    return "\n".join(line for line in text.splitlines() if not DEV_ONLY.match(line.strip())) + "\n"


def _copy_model(model: str, dest: Path) -> tuple[str, dict]:
    """Copy a run folder into dest/models/<name>; a Hub id is left for the Space to download."""
    folder = Path(model).expanduser()
    if not folder.is_dir():
        if folder.exists() or model.startswith((".", "/", "~")) or model.count("/") != 1:
            raise PublishError(f"--model {model!r} is neither a run folder nor a Hub id (OWNER/NAME).")
        return model, {}
    info_path = folder / "tp.json"
    if not info_path.is_file():
        raise PublishError(f"{folder} is not a run folder (no tp.json): train one with tp train.")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    has_adapter = (folder / "adapter" / "adapter_config.json").is_file()
    skip = shutil.ignore_patterns("model", "variants", "eval", "checkpoints") if has_adapter else RUN_FOLDER_SKIP
    if not has_adapter and not (folder / "model" / "config.json").is_file():
        raise PublishError(f"{folder} has neither adapter/ nor model/: it is incomplete.")
    target = f"models/{folder.resolve().name}"
    shutil.copytree(folder, dest / target, ignore=skip)
    return target, info


def _served_name(served: str) -> str:
    """The name clients use for the model: its folder's (or repo's) last part, set in TP_MODEL."""
    return re.sub(r"[^\w.-]", "-", Path(served.rstrip("/")).name)[:64]


TRAINING_NOTE = ("The Space trains (TP_TRAINING=true): set a TP_API_KEY secret in its settings, or anyone can run "
                 "jobs on it. A Space's disk is not persistent unless storage is attached: without it, jobs and "
                 "the models they made are gone at the next restart; with it, set the variable "
                 "TP_JOBS_DIR=/data/tp-jobs.")


def assemble_space(space_id: str, model: str, dest: Path, license: str = "apache-2.0",
                   source: Path = Path("."), training: bool = False) -> list[str]:
    """Write the Space folder to `dest` (atomically); returns its files.

    `source` is the tp checkout the Space runs: its app.py, tp/, requirements.txt, space/ and vue-client/.
    `training`: the Space has the Train tab and /api/v1/jobs on (TP_TRAINING=true).
    """
    from tp.files import staged_folder

    root = Path(source).expanduser()
    missing = [name for name in ("app.py", "tp", "requirements.txt", "space/Dockerfile") if not (root / name).exists()]
    if missing:
        raise PublishError(f"{root.resolve()} is not a tp checkout (no {', '.join(missing)}): run from the "
                           "repository's folder, or pass --source with its path.")
    with staged_folder(dest) as staging:
        shutil.copy2(root / "app.py", staging / "app.py")
        shutil.copytree(root / "tp", staging / "tp", ignore=SKIP)
        (staging / "requirements.txt").write_text(
            runtime_requirements((root / "requirements.txt").read_text(encoding="utf-8")), encoding="utf-8")
        client = root / "vue-client"
        if (client / "package.json").is_file():
            shutil.copytree(client, staging / "vue-client", ignore=SKIP)
        else:
            (staging / "vue-client").mkdir()
        served, info = _copy_model(model, staging)
        example = (info.get("examples") or ["Shares rose after record profits."])[0][:80].rsplit(" ", 1)[0]
        example = example.replace('"', "'")
        title = f"tp · {Path(served).name}"
        labels = ", ".join(info.get("labels", []))
        summary = (f"A text classifier fine-tuned with tp: `{info.get('base_model', served)}` on "
                   f"{info.get('data', {}).get('source', 'its data')}" + (f" (labels: {labels})." if labels else "."))
        models_block = "" if info else f"models:\n- {served}\n"
        readme = (root / "space" / "README.md").read_text(encoding="utf-8").format(
            title=title, license=license, short_description=f"Classify texts with {Path(served).name}"[:60],
            models_block=models_block, summary=summary, example=example, space_id=space_id,
            model_name=_served_name(served))
        (staging / "README.md").write_text(readme, encoding="utf-8")
        dockerfile = (root / "space" / "Dockerfile").read_text(encoding="utf-8")
        dockerfile = dockerfile.replace("{model}", f"{_served_name(served)}={served}")
        if training:
            dockerfile = dockerfile.replace("EXPOSE 7860", f"# {TRAINING_NOTE}\nENV TP_TRAINING=true\nEXPOSE 7860")
        (staging / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())


def dockerfile_env(folder: Path) -> dict[str, str]:
    """The ENV values a Space folder's Dockerfile sets: what the container's app.py will see."""
    text = (folder / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            env.update(dict(pair.split("=", 1) for pair in line[4:].split() if "=" in pair))
    return env
