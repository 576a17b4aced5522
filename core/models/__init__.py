"""Model files: getting Qwen3 weights into the Hugging Face cache on request.

:mod:`core.models.download` lists a model's files with their sizes and downloads
them (progress, resume, cancel) when the analyst asks; loading stays offline.
"""

from core.models.download import (
    DOWNLOADABLE,
    HubUnreachableError,
    ModelFile,
    ModelFiles,
    cached_model_path,
    download_model,
    download_size,
    list_model_files,
    resolve_repo_id,
)

__all__ = [
    "DOWNLOADABLE", "HubUnreachableError", "ModelFile", "ModelFiles", "cached_model_path", "download_model",
    "download_size", "list_model_files", "resolve_repo_id",
]
