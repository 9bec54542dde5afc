"""Algorithm tasks (OCR, NER, detection, ...) and their implementations.

The app that owns a task declares it with the implementations it really has:

    declare_algorithm_task("ocr", implementations={"tesseract": _("Tesseract chi_sim+eng"), ...},
                           default="tesseract", description=_("Reads text from report photos."))

Each task becomes a choice setting `algorithm.<task>`, so the active implementation per
hospital is chosen, validated, cached and audited like any other setting. Trained
models are registered against the same task names (see models.ModelArtifact).
"""

from dataclasses import dataclass

from .registry import declare

_tasks: dict[str, "AlgorithmTask"] = {}


@dataclass(frozen=True)
class AlgorithmTask:
    name: str
    implementations: dict[str, str]
    default: str
    description: str

    @property
    def setting_key(self) -> str:
        return f"algorithm.{self.name}"


def declare_algorithm_task(name: str, *, implementations: dict[str, str], default: str, description) -> AlgorithmTask:
    task = AlgorithmTask(name=name, implementations=dict(implementations), default=default, description=description)
    existing = _tasks.get(name)
    if existing is not None and existing != task:
        raise ValueError(f"algorithm task {name} is declared twice, differently")
    declare(task.setting_key, "choice", default=default, choices=tuple(implementations), description=description)
    _tasks[name] = task
    return task


def algorithm_task(name: str) -> AlgorithmTask | None:
    return _tasks.get(name)


def algorithm_tasks() -> list[AlgorithmTask]:
    return sorted(_tasks.values(), key=lambda task: task.name)
