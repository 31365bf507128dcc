"""The HTTP API against generated requests (schemathesis: hypothesis over the OpenAPI
document): bounded examples per route, never a 5xx, every answer as the document says."""

import tempfile

import pytest
from hypothesis import HealthCheck, settings

from latentaudio.app import Settings, create_app

schemathesis = pytest.importorskip("schemathesis")

DATA = tempfile.TemporaryDirectory(prefix="latentaudio-fuzz-")
# No workers: jobs stay queued and no model loads, so the fuzzing exercises the API itself.
APP = create_app(Settings(DATA.name, workers=0, max_queue=100_000),
                 lambda: (None, {"id": "none", "denoiser_sha256": ""}))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# What the API promises: no server error, and status codes, content types, headers and bodies
# as its document says. (Not "every schema-valid request is accepted": a multipart form cannot
# send null, so generated forms with "null" for an optional field are rightly refused, 422.)
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance,
          schemathesis.checks.response_headers_conformance,
          schemathesis.checks.response_schema_conformance]
COUNTS = {"requests": 0, "5xx": 0}


@schema.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_route_answers_5xx_or_off_its_schema(case):
    response = case.call()
    COUNTS["requests"] += 1
    COUNTS["5xx"] += response.status_code >= 500
    case.validate_response(response, checks=CHECKS)


def test_the_fuzzing_ran_and_found_no_server_error():
    """Runs after the generated cases (same module, defined after them): their totals."""
    print(f"\nAPI fuzzing: {COUNTS['requests']} requests, {COUNTS['5xx']} answered 5xx")
    assert COUNTS["requests"] >= 200 and COUNTS["5xx"] == 0
