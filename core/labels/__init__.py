"""labels stage: relevance grades kept in SQLite, their aggregate and agreement.

See :mod:`core.labels.grades` (the 1-5 scale, checks), :mod:`core.labels.store` (schema, durability) and
:mod:`core.labels.aggregate` (the aggregation rule, Krippendorff's alpha).
"""

from core.labels.aggregate import AGGREGATION_RULE, Agreement, aggregate_grades, krippendorff_alpha
from core.labels.store import (
    GRADE_COLUMNS,
    GRADE_SCALE,
    MAX_GRADE,
    MIN_GRADE,
    SCHEMA_VERSION,
    GradeKey,
    LabelStore,
    LabelStoreError,
    query_id_for,
)

__all__ = [
    "AGGREGATION_RULE",
    "GRADE_COLUMNS",
    "GRADE_SCALE",
    "MAX_GRADE",
    "MIN_GRADE",
    "SCHEMA_VERSION",
    "Agreement",
    "GradeKey",
    "LabelStore",
    "LabelStoreError",
    "aggregate_grades",
    "krippendorff_alpha",
    "query_id_for",
]
