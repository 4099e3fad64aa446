"""Composing a run: Hydra over ``configs/`` and the task files, into the typed ``RunConfig``.

``hydra`` composes (the one composer) and checks what the schema cannot say; ``cache`` keeps
Hydra's output for a repeated command; ``tasks`` reads and validates the task definitions
(``tasks/<kind>/<name>.yaml``, plugins' folders, ``EVALKIT_TASKS``).
"""

from evalkit.compose.cache import Composed
from evalkit.compose.hydra import (
    GROUPS,
    OPTIONAL_GROUPS,
    check_url,
    compose,
    compose_job,
    compose_node,
    from_node,
    group_options,
    parse_overrides,
    refuse_secrets,
    register_schemas,
    sweep,
    to_run_config,
)

__all__ = [
    "GROUPS",
    "OPTIONAL_GROUPS",
    "Composed",
    "check_url",
    "compose",
    "compose_job",
    "compose_node",
    "from_node",
    "group_options",
    "parse_overrides",
    "refuse_secrets",
    "register_schemas",
    "sweep",
    "to_run_config",
]
