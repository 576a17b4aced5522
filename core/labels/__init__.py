"""labels stage: relevance grades kept in SQLite, their aggregate and agreement.

See :mod:`core.labels.store` (schema, durability) and
:mod:`core.labels.aggregate` (the aggregation rule, Krippendorff's alpha).
"""

from core.labels.aggregate import AGGREGATION_RULE, Agreement, aggregate_grades, krippendorff_alpha
from core.labels.store import (
    GRADE_COLUMNS,
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
