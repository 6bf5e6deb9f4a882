"""schemathesis against the app's own OpenAPI schema, with all default checks.

One check is configured, not disabled: `positive_data_acceptance` also accepts 422. A graph
can match the JSON schema and still mean nothing (a cycle, a shape mismatch, a missing
Input); CONTRACT.md answers those with 422 and the error list, which JSON Schema cannot
express. Every other default check runs with its defaults.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from schemathesis.config import SchemathesisConfig
from hypothesis import HealthCheck, settings

from blocklab.app import create_app
from blocklab.settings import Settings

# One app for the whole module: schemathesis needs it at import time to build the tests.
_app = create_app(Settings(data_dir=Path(tempfile.mkdtemp(prefix="blocklab-st-")), max_concurrent_runs=1))
_config = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", _app, config=_config)

EXAMPLES = int(os.environ.get("BLOCKLAB_SCHEMATHESIS_EXAMPLES", "40"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    case.call_and_validate()
