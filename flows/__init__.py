"""The survey engine and flow definitions: pure data and logic, no I/O.

- :mod:`flows.model`: the versioned flow-definition format (pydantic);
- :mod:`flows.loader`: loading and validating definitions (``builtin_definition("rss")``);
- :mod:`flows.state`: session state, inputs and events;
- :mod:`flows.questions`: input handling per question type;
- :mod:`flows.engine`: :func:`start` and :func:`resume`;
- :mod:`flows.expressions`: the XLSForm expressions of ``relevant`` and ``constraint``;
- :mod:`flows.xlsform`: XLSForms read as definitions and definitions written as XLSForms.
"""

from flows.engine import Step, resume, scored_answers, start, visible_questions
from flows.loader import (
    FlowDefinitionError,
    builtin_definition,
    definition_at,
    dump_definition,
    load_definition,
    parse_definition,
)
from flows.model import SPEC_VERSION, FlowDefinition

__all__ = [
    "SPEC_VERSION",
    "FlowDefinition",
    "FlowDefinitionError",
    "Step",
    "builtin_definition",
    "definition_at",
    "dump_definition",
    "load_definition",
    "parse_definition",
    "resume",
    "scored_answers",
    "start",
    "visible_questions",
]
